"""Real caller outputs are accepted by the default profile, with the warnings their deviations earn.

One representative file per class of tool output, written from the tools' documented output formats
(header lines as the tools write them, records shaped like theirs): GATK HaplotypeCaller gVCF, DeepVariant
gVCF, GATK GenotypeGVCFs cohort, Mutect2, Strelka2, VarScan2, Manta, Delly, GRIDSS, LUMPY, VEP, SnpEff,
bcftools call, freebayes, gnomAD- and dbSNP-like sites-only files. Each is asserted VALID under the default profile with
exactly the expected warning codes, readable by bcftools 1.16, and (where it deviates from the spec)
rejected by strict with those same codes.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from genomics.validation import validate_path


def _rec(*fields: str) -> str:
    return "\t".join(fields)


def _chrom_line(*samples: str) -> str:
    cols = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
    return "\t".join(cols + (["FORMAT", *samples] if samples else []))


@dataclass(frozen=True)
class CallerFile:
    name: str
    lines: list[str]
    warnings: frozenset[str]  # the exact warning codes under the default profile
    nonconforming: bool  # strict rejects it (some warnings are errors of the spec)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


GATK_GVCF = CallerFile(
    "gatk_haplotypecaller_gvcf",
    [
        "##fileformat=VCFv4.2",
        '##ALT=<ID=NON_REF,Description="Represents any possible alternative allele not already represented at '
        'this location by REF and ALT">',
        '##FILTER=<ID=LowQual,Description="Low quality">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths for the ref and alt alleles in the '
        'order listed">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth (reads with MQ=255 or with '
        'bad mates are filtered)">',
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype Quality">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=MIN_DP,Number=1,Type=Integer,Description="Minimum DP observed within the GVCF block">',
        '##FORMAT=<ID=PGT,Number=1,Type=String,Description="Physical phasing haplotype information">',
        '##FORMAT=<ID=PID,Number=1,Type=String,Description="Physical phasing ID information">',
        '##FORMAT=<ID=PL,Number=G,Type=Integer,Description="Normalized, Phred-scaled likelihoods for genotypes '
        'as defined in the VCF specification">',
        '##FORMAT=<ID=PS,Number=1,Type=Integer,Description="Phasing set (typically the position of the first '
        'variant in the set)">',
        '##FORMAT=<ID=SB,Number=4,Type=Integer,Description="Per-sample component statistics which comprise the '
        "Fisher's Exact Test to detect strand bias.\">",
        '##GATKCommandLine=<ID=HaplotypeCaller,CommandLine="HaplotypeCaller --emit-ref-confidence GVCF '
        '--annotation-group AS_StandardAnnotation --output NA12878.g.vcf.gz",Version="4.2.6.1",'
        'Date="March 1, 2023 10:00:00 AM UTC">',
        "##GVCFBlock0-1=minGQ=0(inclusive),maxGQ=1(exclusive)",
        "##GVCFBlock20-30=minGQ=20(inclusive),maxGQ=30(exclusive)",
        '##INFO=<ID=AS_RAW_BaseQRankSum,Number=1,Type=String,Description="raw data for allele specific rank '
        'sum test of base qualities">',
        '##INFO=<ID=AS_RAW_MQ,Number=1,Type=String,Description="Allele-specfic raw data for RMS Mapping '
        'Quality">',
        '##INFO=<ID=AS_RAW_MQRankSum,Number=1,Type=String,Description="Allele-specfic raw data for Mapping '
        'Quality Rank Sum">',
        '##INFO=<ID=AS_RAW_ReadPosRankSum,Number=1,Type=String,Description="allele specific raw data for rank '
        'sum test of read position bias">',
        '##INFO=<ID=AS_SB_TABLE,Number=1,Type=String,Description="Allele-specific forward/reverse read counts '
        'for strand bias tests. Includes the reference and alleles separated by |.">',
        '##INFO=<ID=BaseQRankSum,Number=1,Type=Float,Description="Z-score from Wilcoxon rank sum test of Alt '
        'Vs. Ref base qualities">',
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth; some reads may have been '
        'filtered">',
        '##INFO=<ID=END,Number=1,Type=Integer,Description="Stop position of the interval">',
        '##INFO=<ID=ExcessHet,Number=1,Type=Float,Description="Phred-scaled p-value for exact test of excess '
        'heterozygosity">',
        '##INFO=<ID=MLEAC,Number=A,Type=Integer,Description="Maximum likelihood expectation (MLE) for the allele '
        'counts">',
        '##INFO=<ID=MLEAF,Number=A,Type=Float,Description="Maximum likelihood expectation (MLE) for the allele '
        'frequency">',
        '##INFO=<ID=MQRankSum,Number=1,Type=Float,Description="Z-score From Wilcoxon rank sum test of Alt vs. '
        'Ref read mapping qualities">',
        '##INFO=<ID=RAW_MQandDP,Number=2,Type=Integer,Description="Raw data (sum of squared MQ and total '
        'depth) for improved RMS Mapping Quality calculation.">',
        '##INFO=<ID=ReadPosRankSum,Number=1,Type=Float,Description="Z-score from Wilcoxon rank sum test of Alt '
        'vs. Ref read position bias">',
        "##contig=<ID=chr20,length=64444167,assembly=GRCh38>",
        "##contig=<ID=chr21,length=46709983,assembly=GRCh38>",
        "##source=HaplotypeCaller",
        _chrom_line("NA12878"),
        _rec("chr20", "10000000", ".", "T", "<NON_REF>", ".", ".", "END=10000116", "GT:DP:GQ:MIN_DP:PL",
             "0/0:44:99:38:0,89,1064"),
        _rec("chr20", "10000117", ".", "C", "T,<NON_REF>", "262.64", ".",
             "AS_RAW_BaseQRankSum=|-0.3,1|NaN;AS_RAW_MQ=0.00|64800.00|0.00;AS_RAW_MQRankSum=|0.0,1|NaN;"
             "AS_RAW_ReadPosRankSum=|0.6,1|NaN;AS_SB_TABLE=8,9|10,9|0,0;BaseQRankSum=-0.328;DP=36;"
             "ExcessHet=3.0103;MLEAC=1,0;MLEAF=0.500,0.00;MQRankSum=0.000;RAW_MQandDP=129600,36;"
             "ReadPosRankSum=0.571",
             "GT:AD:DP:GQ:PGT:PID:PL:PS:SB",
             "0|1:17,19,0:36:99:0|1:10000117_C_T:270,0,225,321,282,603:10000117:8,9,10,9"),
        _rec("chr20", "10000118", ".", "A", "<NON_REF>", ".", ".", "END=10000200", "GT:DP:GQ:MIN_DP:PL",
             "0/0:35:25:30:0,25,600"),
        _rec("chr21", "5010000", ".", "G", "<NON_REF>", ".", ".", "END=5010050", "GT:DP:GQ:MIN_DP:PL",
             "0/0:0:0:0:0,0,0"),
    ],
    # NON_REF is not a structural-variant type (VCF 4.2 §1.4.5); the AS_ raw annotations hold commas in a
    # Number=1 String.
    frozenset({"VCF_META_ID_INVALID", "VCF_INFO_NUMBER"}),
    True,
)

DEEPVARIANT_GVCF = CallerFile(
    "deepvariant_gvcf",
    [
        "##fileformat=VCFv4.2",
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FILTER=<ID=RefCall,Description="Genotyping model thinks this site is reference.">',
        '##FILTER=<ID=LowQual,Description="Confidence in this variant being real is below calling threshold.">',
        '##FILTER=<ID=NoCall,Description="Site has depth=0 resulting in no call.">',
        '##INFO=<ID=END,Number=1,Type=Integer,Description="End position (for use with symbolic alleles)">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Conditional genotype quality">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">',
        '##FORMAT=<ID=MIN_DP,Number=1,Type=Integer,Description="Minimum DP observed within the GVCF block.">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Read depth for each allele">',
        '##FORMAT=<ID=VAF,Number=A,Type=Float,Description="Variant allele fractions.">',
        '##FORMAT=<ID=PL,Number=G,Type=Integer,Description="Phred-scaled genotype likelihoods rounded to the '
        'closest integer">',
        '##FORMAT=<ID=MED_DP,Number=1,Type=Integer,Description="Median DP observed within the GVCF block rounded '
        'to the nearest integer.">',
        "##DeepVariant_version=1.5.0",
        "##contig=<ID=chr20,length=64444167>",
        _chrom_line("HG002"),
        _rec("chr20", "1", ".", "N", "<*>", "0", ".", "END=9999", "GT:GQ:MIN_DP:PL", "./.:0:0:0,0,0"),
        _rec("chr20", "10000", ".", "A", "<*>", "0", ".", "END=10010", "GT:GQ:MIN_DP:PL", "0/0:50:30:0,90,899"),
        _rec("chr20", "10011", ".", "G", "A,<*>", "35.2", "PASS", ".", "GT:GQ:DP:AD:VAF:PL",
             "0/1:35:31:15,16,0:0.516129,0:35,0,40,990,990,990"),
        _rec("chr20", "10012", ".", "C", "CT,<*>", "2.1", "RefCall", ".", "GT:GQ:DP:AD:VAF:PL",
             "./.:5:30:28,2,0:0.0666667,0:0,8,30,990,990,990"),
        _rec("chr20", "10013", ".", "C", "<*>", "0", ".", "END=10100", "GT:GQ:MIN_DP:PL", "0/0:50:30:0,90,899"),
    ],
    frozenset(),
    False,
)

GENOTYPE_GVCFS_COHORT = CallerFile(
    "gatk_genotypegvcfs_cohort",
    [
        "##fileformat=VCFv4.2",
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FILTER=<ID=LowQual,Description="Low quality">',
        '##FORMAT=<ID=AD,Number=.,Type=Integer,Description="Allelic depths for the ref and alt alleles in the '
        'order listed">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth">',
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype Quality">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=PL,Number=G,Type=Integer,Description="Normalized, Phred-scaled likelihoods for genotypes">',
        '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count in genotypes, for each ALT allele">',
        '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele Frequency, for each ALT allele">',
        '##INFO=<ID=AN,Number=1,Type=Integer,Description="Total number of alleles in called genotypes">',
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth">',
        '##INFO=<ID=FS,Number=1,Type=Float,Description="Phred-scaled p-value using Fisher\'s exact test">',
        '##INFO=<ID=MQ,Number=1,Type=Float,Description="RMS Mapping Quality">',
        '##INFO=<ID=QD,Number=1,Type=Float,Description="Variant Confidence/Quality by Depth">',
        '##INFO=<ID=SOR,Number=1,Type=Float,Description="Symmetric Odds Ratio of 2x2 contingency table">',
        "##contig=<ID=chr1,length=248956422>",
        "##source=GenotypeGVCFs",
        _chrom_line("S1", "S2", "S3", "S4"),
        _rec("chr1", "10177", "rs367896724", "A", "AC", "1221.5", "PASS",
             "AC=3;AF=0.375;AN=8;DP=120;FS=0.000;MQ=60.00;QD=10.18;SOR=0.693", "GT:AD:DP:GQ:PL",
             "0/1:15,14:29:99:300,0,320", "0/1:10,12:22:99:280,0,250", "1/1:0,30:30:90:900,90,0", "./.:0,0:0:.:."),
        _rec("chr1", "10352", ".", "T", "TA,C", "802.3", "PASS",
             "AC=2,1;AF=0.25,0.125;AN=8;DP=98;FS=1.2;MQ=59.1;QD=8.2;SOR=0.8", "GT:AD:DP:GQ:PL",
             "0/1:12,10,0:22:99:250,0,300,290,330,620", "0/2:11,0,9:20:99:210,240,480,0,260,220",
             "0/1:14,12,0:26:99:270,0,330,310,360,690", "0/0:25,0,0:25:75:0,75,900,75,900,900"),
        _rec("chr1", "10400", ".", "C", "T", "35.1", "LowQual", "AC=1;AF=0.167;AN=6;DP=40;FS=0.0;MQ=40.0;QD=3.5",
             "GT:AD:DP:GQ:PL", "0/1:8,2:10:30:40,0,300", "0/0:12,0:12:36:0,36,400", ".", "0/0:9,0:9:27:0,27,300"),
    ],
    # GATK 3's AD Number=. (the spec reserves Number=R): compatible, but not the spec's definition.
    frozenset({"VCF_META_RESERVED_LOOSE"}),
    True,
)

MUTECT2 = CallerFile(
    "gatk_mutect2_filtered",
    [
        "##fileformat=VCFv4.2",
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FILTER=<ID=germline,Description="Evidence indicates this site is germline, not somatic">',
        '##FILTER=<ID=weak_evidence,Description="Mutation does not meet likelihood threshold">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths for the ref and alt alleles">',
        '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fractions of alternate alleles in the tumor">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth">',
        '##FORMAT=<ID=F1R2,Number=R,Type=Integer,Description="Count of reads in F1R2 pair orientation supporting '
        'each allele">',
        '##FORMAT=<ID=F2R1,Number=R,Type=Integer,Description="Count of reads in F2R1 pair orientation supporting '
        'each allele">',
        '##FORMAT=<ID=FAD,Number=R,Type=Integer,Description="Count of fragments supporting each allele.">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=SB,Number=4,Type=Integer,Description="Per-sample component statistics which comprise the '
        'Fisher\'s Exact Test to detect strand bias.">',
        '##GATKCommandLine=<ID=FilterMutectCalls,CommandLine="FilterMutectCalls --output filtered.vcf.gz",'
        'Version="4.2.6.1",Date="March 1, 2023 10:00:00 AM UTC">',
        '##INFO=<ID=AS_FilterStatus,Number=A,Type=String,Description="Filter status for each allele, as assessed '
        'by ApplyVQSR.">',
        '##INFO=<ID=AS_SB_TABLE,Number=1,Type=String,Description="Allele-specific forward/reverse read counts for '
        'strand bias tests. Includes the reference and alleles separated by |.">',
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth">',
        '##INFO=<ID=ECNT,Number=1,Type=Integer,Description="Number of events in this haplotype">',
        '##INFO=<ID=GERMQ,Number=1,Type=Integer,Description="Phred-scaled quality that alt alleles are not '
        'germline variants">',
        '##INFO=<ID=MBQ,Number=R,Type=Integer,Description="median base quality by allele">',
        '##INFO=<ID=MFRL,Number=R,Type=Integer,Description="median fragment length by allele">',
        '##INFO=<ID=MMQ,Number=R,Type=Integer,Description="median mapping quality by allele">',
        '##INFO=<ID=MPOS,Number=A,Type=Integer,Description="median distance from end of read">',
        '##INFO=<ID=NALOD,Number=A,Type=Float,Description="Negative log 10 odds of artifact in normal">',
        '##INFO=<ID=NLOD,Number=A,Type=Float,Description="Normal log 10 likelihood ratio">',
        '##INFO=<ID=POPAF,Number=A,Type=Float,Description="negative log 10 population allele frequencies">',
        '##INFO=<ID=TLOD,Number=A,Type=Float,Description="Log 10 likelihood ratio score of variant existing">',
        "##MutectVersion=2.2",
        "##Mutect Version=2.2",
        "##contig=<ID=chr1,length=248956422>",
        "##filtering_status=These calls have been filtered by FilterMutectCalls to label false positives with a "
        "list of failed filters and true positives with PASS.",
        "##normal_sample=NORMAL",
        "##source=FilterMutectCalls",
        "##tumor_sample=TUMOR",
        _chrom_line("NORMAL", "TUMOR"),
        _rec("chr1", "1000000", ".", "G", "A", ".", "PASS",
             "AS_FilterStatus=SITE;AS_SB_TABLE=20,18|5,6;DP=62;ECNT=1;GERMQ=93;MBQ=30,30;MFRL=300,310;"
             "MMQ=60,60;MPOS=25;NALOD=1.40;NLOD=6.90;POPAF=6.00;TLOD=32.10", "GT:AD:AF:DP:F1R2:F2R1:FAD:SB",
             "0/0:23,0:0.040:23:11,0:12,0:23,0:12,11,0,0", "0/1:15,11:0.420:26:7,5:8,6:15,11:8,7,5,6"),
        _rec("chr1", "1000500", ".", "C", "CT", ".", "germline;weak_evidence",
             "AS_FilterStatus=weak_evidence|germline;AS_SB_TABLE=10,12|1,1;DP=40;ECNT=2;GERMQ=1;MBQ=30,28;"
             "MFRL=290,305;MMQ=60,60;MPOS=12;NALOD=-0.500;NLOD=2.10;POPAF=1.20;TLOD=3.50",
             "GT:AD:AF:DP:F1R2:F2R1:FAD:SB", "0/0:18,1:0.080:19:9,0:9,1:18,1:9,9,1,0",
             "0/1:19,2:0.120:21:10,1:9,1:19,2:10,9,1,1"),
    ],
    # "##Mutect Version" is a header key with a space; AS_SB_TABLE holds commas in a Number=1 String.
    frozenset({"VCF_META_INVALID", "VCF_INFO_NUMBER"}),
    True,
)

STRELKA2 = CallerFile(
    "strelka2_somatic_snvs",
    [
        "##fileformat=VCFv4.1",
        "##fileDate=20230301",
        "##source=strelka",
        "##source_version=2.9.10",
        "##reference=file:///ref/genome.fa",
        "##contig=<ID=chr1,length=248956422>",
        "##content=strelka somatic snv calls",
        "##priorSomaticSnvRate=0.0001",
        '##INFO=<ID=QSS,Number=1,Type=Integer,Description="Quality score for any somatic snv">',
        '##INFO=<ID=TQSS,Number=1,Type=Integer,Description="Data tier used to compute QSS">',
        '##INFO=<ID=NT,Number=1,Type=String,Description="Genotype of the normal in all data tiers">',
        '##INFO=<ID=QSS_NT,Number=1,Type=Integer,Description="Quality score reflecting the joint probability of '
        'a somatic variant and NT">',
        '##INFO=<ID=SGT,Number=1,Type=String,Description="Most likely somatic genotype excluding normal noise '
        'states">',
        '##INFO=<ID=SOMATIC,Number=0,Type=Flag,Description="Somatic mutation">',
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Combined depth across samples">',
        '##INFO=<ID=MQ,Number=1,Type=Float,Description="RMS Mapping Quality">',
        '##INFO=<ID=MQ0,Number=1,Type=Integer,Description="Total Mapping Quality Zero Reads">',
        '##INFO=<ID=SNVSB,Number=1,Type=Float,Description="Somatic SNV site strand bias">',
        '##INFO=<ID=SomaticEVS,Number=1,Type=Float,Description="Somatic Empirical Variant Score (EVS)">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth for tier1 (used+filtered)">',
        '##FORMAT=<ID=FDP,Number=1,Type=Integer,Description="Number of basecalls filtered from original read '
        'depth for tier1">',
        '##FORMAT=<ID=SDP,Number=1,Type=Integer,Description="Number of reads with deletions spanning this site '
        'at tier1">',
        '##FORMAT=<ID=SUBDP,Number=1,Type=Integer,Description="Number of reads below tier1 mapping quality '
        'threshold aligned across this site">',
        '##FORMAT=<ID=AU,Number=2,Type=Integer,Description="Number of \'A\' alleles used in tiers 1,2">',
        '##FORMAT=<ID=CU,Number=2,Type=Integer,Description="Number of \'C\' alleles used in tiers 1,2">',
        '##FORMAT=<ID=GU,Number=2,Type=Integer,Description="Number of \'G\' alleles used in tiers 1,2">',
        '##FORMAT=<ID=TU,Number=2,Type=Integer,Description="Number of \'T\' alleles used in tiers 1,2">',
        '##FILTER=<ID=LowEVS,Description="Somatic Empirical Variant Score (SomaticEVS) is below threshold">',
        '##FILTER=<ID=LowDepth,Description="Tumor or normal sample read depth at this locus is below 2">',
        _chrom_line("NORMAL", "TUMOR"),
        _rec("chr1", "1000000", ".", "G", "A", ".", "PASS",
             "SOMATIC;QSS=95;TQSS=1;NT=ref;QSS_NT=95;SGT=GG->AG;DP=80;MQ=60.00;MQ0=0;SNVSB=0.00;SomaticEVS=17.56",
             "DP:FDP:SDP:SUBDP:AU:CU:GU:TU", "35:0:0:0:0,0:0,0:35,36:0,0", "45:0:0:0:12,12:0,0:33,34:0,0"),
        _rec("chr1", "1200000", ".", "C", "T", ".", "LowEVS",
             "SOMATIC;QSS=12;TQSS=2;NT=ref;QSS_NT=12;SGT=CC->CT;DP=30;MQ=55.20;MQ0=1;SNVSB=1.20;SomaticEVS=2.10",
             "DP:FDP:SDP:SUBDP:AU:CU:GU:TU", "14:0:0:0:0,0:14,14:0,0:0,0", "16:1:0:0:0,0:13,14:0,0:2,2"),
    ],
    frozenset(),
    False,
)

MANTA = CallerFile(
    "manta_diploid_sv",
    [
        "##fileformat=VCFv4.1",
        "##source=GenerateSVCandidates 1.6.0",
        "##reference=file:///ref/genome.fa",
        "##contig=<ID=chr1,length=248956422>",
        "##contig=<ID=chr2,length=242193529>",
        '##INFO=<ID=IMPRECISE,Number=0,Type=Flag,Description="Imprecise structural variation">',
        '##INFO=<ID=SVTYPE,Number=1,Type=String,Description="Type of structural variant">',
        '##INFO=<ID=SVLEN,Number=.,Type=Integer,Description="Difference in length between REF and ALT alleles">',
        '##INFO=<ID=END,Number=1,Type=Integer,Description="End position of the variant described in this record">',
        '##INFO=<ID=CIPOS,Number=2,Type=Integer,Description="Confidence interval around POS">',
        '##INFO=<ID=CIEND,Number=2,Type=Integer,Description="Confidence interval around END">',
        '##INFO=<ID=CIGAR,Number=A,Type=String,Description="CIGAR alignment for each alternate indel allele">',
        '##INFO=<ID=MATEID,Number=.,Type=String,Description="ID of mate breakend">',
        '##INFO=<ID=HOMLEN,Number=.,Type=Integer,Description="Length of base pair identical homology at event '
        'breakpoints">',
        '##INFO=<ID=HOMSEQ,Number=.,Type=String,Description="Sequence of base pair identical homology at event '
        'breakpoints">',
        '##INFO=<ID=BND_DEPTH,Number=1,Type=Integer,Description="Read depth at local translocation breakend">',
        '##INFO=<ID=MATE_BND_DEPTH,Number=1,Type=Integer,Description="Read depth at remote translocation mate '
        'breakend">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=FT,Number=1,Type=String,Description="Sample filter, \'PASS\' indicates that all filters '
        'have passed for this sample">',
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype Quality">',
        '##FORMAT=<ID=PL,Number=G,Type=Integer,Description="Normalized, Phred-scaled likelihoods for genotypes">',
        '##FORMAT=<ID=PR,Number=.,Type=Integer,Description="Spanning paired-read support for the ref and alt '
        'alleles in the order listed">',
        '##FORMAT=<ID=SR,Number=.,Type=Integer,Description="Split reads for the ref and alt alleles in the order '
        'listed, for reads where P(allele|read)>0.999">',
        '##FILTER=<ID=MaxDepth,Description="Depth is greater than 3x the median chromosome depth near one or both '
        'variant breakends">',
        '##FILTER=<ID=MinQUAL,Description="QUAL score is less than 20">',
        '##ALT=<ID=DEL,Description="Deletion">',
        '##ALT=<ID=INS,Description="Insertion">',
        '##ALT=<ID=DUP:TANDEM,Description="Tandem Duplication">',
        "##cmdline=configManta.py --bam sample.bam --referenceFasta genome.fa",
        _chrom_line("SAMPLE"),
        _rec("chr1", "1000000", "MantaDEL:0:1:2:0:0:0", "A", "<DEL>", "999", "PASS",
             "END=1005000;SVTYPE=DEL;SVLEN=-5000;CIPOS=0,4;CIEND=0,4;HOMLEN=4;HOMSEQ=AGTC", "GT:FT:GQ:PL:PR:SR",
             "0/1:PASS:999:999,0,999:30,25:20,18"),
        _rec("chr1", "2000000", "MantaBND:1:2:3:0:0:0:0", "T", "T]chr2:3000000]", "500", "PASS",
             "SVTYPE=BND;MATEID=MantaBND:1:2:3:0:0:0:1;BND_DEPTH=40;MATE_BND_DEPTH=38", "GT:FT:GQ:PL:PR:SR",
             "0/1:PASS:500:550,0,600:20,10:15,12"),
        _rec("chr1", "2500000", "MantaINS:2:0:0:0:0:0", "G", "GACTGACTAGCTAGTCAGTCA", "400", "PASS",
             "END=2500000;SVTYPE=INS;SVLEN=20;CIGAR=1M20I", "GT:FT:GQ:PL:PR:SR", "1/1:PASS:60:450,63,0:0,0:0,22"),
        _rec("chr1", "3000000", "MantaDUP:TANDEM:3:0:1:0:0:0", "C", "<DUP:TANDEM>", "120", "MaxDepth",
             "END=3004000;SVTYPE=DUP;SVLEN=4000;IMPRECISE;CIPOS=-150,150;CIEND=-140,140", "GT:FT:GQ:PL:PR",
             "0/1:PASS:120:170,0,300:25,8"),
        _rec("chr2", "3000000", "MantaBND:1:2:3:0:0:0:1", "C", "C]chr1:2000000]", "500", "PASS",
             "SVTYPE=BND;MATEID=MantaBND:1:2:3:0:0:0:0;BND_DEPTH=38;MATE_BND_DEPTH=40", "GT:FT:GQ:PL:PR:SR",
             "0/1:PASS:500:550,0,600:20,10:15,12"),
    ],
    frozenset(),
    False,
)

DELLY = CallerFile(
    "delly_sv_unsorted",
    [
        "##fileformat=VCFv4.2",
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FILTER=<ID=LowQual,Description="Poor quality and insufficient number of PEs and SRs.">',
        '##ALT=<ID=DEL,Description="Deletion">',
        '##ALT=<ID=DUP,Description="Duplication">',
        '##ALT=<ID=INV,Description="Inversion">',
        '##ALT=<ID=BND,Description="Translocation">',
        '##ALT=<ID=INS,Description="Insertion">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=GL,Number=G,Type=Float,Description="Log10-scaled genotype likelihoods">',
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype Quality">',
        '##FORMAT=<ID=FT,Number=1,Type=String,Description="Per-sample genotype filter">',
        '##FORMAT=<ID=RC,Number=1,Type=Integer,Description="Raw high-quality read counts or base counts for the '
        'SV">',
        '##FORMAT=<ID=CN,Number=1,Type=Integer,Description="Read-depth based copy-number estimate">',
        '##FORMAT=<ID=DR,Number=1,Type=Integer,Description="# high-quality reference pairs">',
        '##FORMAT=<ID=DV,Number=1,Type=Integer,Description="# high-quality variant pairs">',
        '##FORMAT=<ID=RR,Number=1,Type=Integer,Description="# high-quality reference junction reads">',
        '##FORMAT=<ID=RV,Number=1,Type=Integer,Description="# high-quality variant junction reads">',
        '##INFO=<ID=CIEND,Number=2,Type=Integer,Description="PE confidence interval around END">',
        '##INFO=<ID=CIPOS,Number=2,Type=Integer,Description="PE confidence interval around POS">',
        '##INFO=<ID=CHR2,Number=1,Type=String,Description="Chromosome for POS2 coordinate in case of an '
        'inter-chromosomal translocation">',
        '##INFO=<ID=POS2,Number=1,Type=Integer,Description="Genomic position for CHR2 in case of an '
        'inter-chromosomal translocation">',
        '##INFO=<ID=END,Number=1,Type=Integer,Description="End position of the structural variant">',
        '##INFO=<ID=PE,Number=1,Type=Integer,Description="Paired-end support of the structural variant">',
        '##INFO=<ID=MAPQ,Number=1,Type=Integer,Description="Median mapping quality of paired-ends">',
        '##INFO=<ID=SRMAPQ,Number=1,Type=Integer,Description="Median mapping quality of split-reads">',
        '##INFO=<ID=SR,Number=1,Type=Integer,Description="Split-read support">',
        '##INFO=<ID=SRQ,Number=1,Type=Float,Description="Split-read consensus alignment quality">',
        '##INFO=<ID=CONSENSUS,Number=1,Type=String,Description="Split-read consensus sequence">',
        '##INFO=<ID=CE,Number=1,Type=Float,Description="Consensus sequence entropy">',
        '##INFO=<ID=CT,Number=1,Type=String,Description="Paired-end signature induced connection type">',
        '##INFO=<ID=IMPRECISE,Number=0,Type=Flag,Description="Imprecise structural variation">',
        '##INFO=<ID=PRECISE,Number=0,Type=Flag,Description="Precise structural variation">',
        '##INFO=<ID=SVTYPE,Number=1,Type=String,Description="Type of structural variant">',
        '##INFO=<ID=SVMETHOD,Number=1,Type=String,Description="Type of approach used to detect SV">',
        "##contig=<ID=chr1,length=248956422>",
        "##contig=<ID=chr2,length=242193529>",
        _chrom_line("SAMPLE"),
        # Delly writes each SV type's calls in turn: deletions, then translocations, so positions go back.
        _rec("chr1", "5000000", "DEL00000001", "A", "<DEL>", "360", "PASS",
             "PRECISE;SVTYPE=DEL;SVMETHOD=EMBL.DELLYv1.1.6;END=5002000;PE=10;MAPQ=60;CT=3to5;CIPOS=-5,5;"
             "CIEND=-5,5;SRMAPQ=60;SR=8;SRQ=0.98;CONSENSUS=ACGTTGCAAGCTTAGC;CE=1.9",
             "GT:GL:GQ:FT:RC:CN:DR:DV:RR:RV", "0/1:-25.3,0,-50.2:253:PASS:50:1:20:10:25:8"),
        _rec("chr1", "1000000", "BND00000002", "G", "G]chr2:2000000]", "180", "PASS",
             "IMPRECISE;SVTYPE=BND;SVMETHOD=EMBL.DELLYv1.1.6;CHR2=chr2;POS2=2000000;END=1000001;PE=6;MAPQ=55;"
             "CT=3to3;CIPOS=-300,300;CIEND=-300,300", "GT:GL:GQ:FT:RC:CN:DR:DV:RR:RV",
             "0/1:-12.1,0,-40.5:121:PASS:0:-1:30:6:0:0"),
    ],
    frozenset({"VCF_UNSORTED"}),
    True,
)

GRIDSS = CallerFile(
    "gridss_breakends",
    [
        "##fileformat=VCFv4.2",
        '##ALT=<ID=BND,Description="Breakend">',
        '##FILTER=<ID=LOW_QUAL,Description="Low quality call">',
        '##FILTER=<ID=SINGLE_ASSEMBLY,Description="Only one side of the breakpoint could be assembled.">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=QUAL,Number=1,Type=Float,Description="Quality score of breakend evidence">',
        '##FORMAT=<ID=RP,Number=1,Type=Integer,Description="Count of read pairs supporting breakpoint">',
        '##FORMAT=<ID=SR,Number=1,Type=Integer,Description="Count of split reads supporting breakpoint">',
        '##INFO=<ID=BEALN,Number=.,Type=String,Description="Potential alignment locations of breakend sequence '
        'in the format chr:start|strand|cigar|mapq">',
        '##INFO=<ID=CIPOS,Number=2,Type=Integer,Description="Confidence interval around POS">',
        '##INFO=<ID=EVENT,Number=1,Type=String,Description="ID of event associated to breakend">',
        '##INFO=<ID=HOMLEN,Number=.,Type=Integer,Description="Length of base pair identical micro-homology at '
        'event breakpoints">',
        '##INFO=<ID=HOMSEQ,Number=.,Type=String,Description="Sequence of base pair identical micro-homology at '
        'event breakpoints">',
        '##INFO=<ID=MATEID,Number=.,Type=String,Description="ID of mate breakends">',
        '##INFO=<ID=SVTYPE,Number=1,Type=String,Description="Type of structural variant">',
        '##INFO=<ID=IMPRECISE,Number=0,Type=Flag,Description="Imprecise structural variation">',
        "##contig=<ID=chr1,length=248956422>",
        "##contig=<ID=chr2,length=242193529>",
        "##source=GRIDSS",
        _chrom_line("tumour"),
        _rec("chr1", "1000000", "gridss0_1o", "A", "AGTC[chr2:2000010[", "850.2", "PASS",
             "EVENT=gridss0_1;MATEID=gridss0_1h;SVTYPE=BND;HOMLEN=0;CIPOS=0,0", "GT:QUAL:RP:SR",
             "./.:850.2:20:12"),
        _rec("chr1", "1500000", "gridss1_1b", "C", "C.", "120.5", "SINGLE_ASSEMBLY",
             "EVENT=gridss1_1;SVTYPE=BND;BEALN=chr5:10000|+|50M|60,chr7:200|-|48M|12", "GT:QUAL:RP:SR",
             "./.:120.5:0:5"),
        _rec("chr2", "1999900", "gridss2_1b", "T", ".TT", "60.1", "LOW_QUAL", "EVENT=gridss2_1;SVTYPE=BND;IMPRECISE",
             "GT:QUAL:RP:SR", "./.:60.1:3:0"),
        _rec("chr2", "2000010", "gridss0_1h", "G", "]chr1:1000000]GTCG", "850.2", "PASS",
             "EVENT=gridss0_1;MATEID=gridss0_1o;SVTYPE=BND;HOMLEN=0;CIPOS=0,0", "GT:QUAL:RP:SR",
             "./.:850.2:20:12"),
    ],
    frozenset(),
    False,
)

VEP = CallerFile(
    "vep_csq_annotated",
    [
        "##fileformat=VCFv4.2",
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Total Depth">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "##contig=<ID=13,length=114364328>",
        '##VEP="v110" time="2023-09-01 10:00:00" cache="homo_sapiens/110_GRCh38" ensembl=110.a1b2c3d '
        'assembly="GRCh38.p13"',
        '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. Format: '
        'Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|EXON|HGVSc|HGVSp|Existing_variation">',
        _chrom_line("S1"),
        _rec("13", "32316461", "rs80358408", "G", "A", "99", "PASS",
             "DP=40;CSQ=A|missense_variant|MODERATE|BRCA2|ENSG00000139618|Transcript|ENST00000380152|"
             "protein_coding|3/27|ENST00000380152.8:c.68G>A|ENSP00000369497.3:p.Cys23Tyr|rs80358408,"
             "A|upstream_gene_variant|MODIFIER|ZAR1L|ENSG00000189167|Transcript|ENST00000533490|protein_coding|"
             "||||rs80358408", "GT", "0/1"),
        _rec("13", "32316500", ".", "TA", "T", "80", "PASS",
             "DP=33;CSQ=-|frameshift_variant|HIGH|BRCA2|ENSG00000139618|Transcript|ENST00000380152|protein_coding|"
             "3/27|ENST00000380152.8:c.108del|ENSP00000369497.3:p.Lys36AsnfsTer2|", "GT", "0/1"),
    ],
    frozenset(),
    False,
)

SNPEFF = CallerFile(
    "snpeff_ann_annotated",
    [
        "##fileformat=VCFv4.2",
        '##SnpEffVersion="5.1d (build 2022-04-19 15:49), by Pablo Cingolani"',
        '##SnpEffCmd="SnpEff  GRCh38.99 input.vcf "',
        '##INFO=<ID=ANN,Number=.,Type=String,Description="Functional annotations: \'Allele | Annotation | '
        'Annotation_Impact | Gene_Name | Gene_ID | Feature_Type | Feature_ID | Transcript_BioType | Rank | HGVS.c '
        '| HGVS.p | cDNA.pos / cDNA.length | CDS.pos / CDS.length | AA.pos / AA.length | Distance | ERRORS / '
        'WARNINGS / INFO\' ">',
        '##INFO=<ID=LOF,Number=.,Type=String,Description="Predicted loss of function effects for this variant. '
        'Format: \'Gene_Name | Gene_ID | Number_of_transcripts_in_gene | Percent_of_transcripts_affected\'">',
        '##INFO=<ID=NMD,Number=.,Type=String,Description="Predicted nonsense mediated decay effects for this '
        'variant. Format: \'Gene_Name | Gene_ID | Number_of_transcripts_in_gene | '
        'Percent_of_transcripts_affected\'">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "##contig=<ID=1,length=248956422>",
        _chrom_line("S1"),
        _rec("1", "65797", ".", "T", "C", "50", "PASS",
             "ANN=C|missense_variant|MODERATE|OR4F5|ENSG00000186092|transcript|ENST00000641515.2|protein_coding|"
             "3/3|c.289T>C|p.Cys97Arg|349/2618|289/981|97/326||,C|upstream_gene_variant|MODIFIER|AL627309.1|"
             "ENSG00000238009|transcript|ENST00000466430.5|lincRNA||n.-3958A>G|||||3958|", "GT", "0/1"),
        _rec("1", "69270", ".", "A", "G", "60", "PASS",
             "ANN=G|stop_gained|HIGH|OR4F5|ENSG00000186092|transcript|ENST00000641515.2|protein_coding|3/3|"
             "c.180A>G|p.Trp60*|240/2618|180/981|60/326||;LOF=(OR4F5|ENSG00000186092|1|1.00);"
             "NMD=(OR4F5|ENSG00000186092|1|1.00)", "GT", "1/1"),
    ],
    frozenset(),
    False,
)

BCFTOOLS_CALL = CallerFile(
    "bcftools_mpileup_call",
    [
        "##fileformat=VCFv4.2",
        '##FILTER=<ID=PASS,Description="All filters passed">',
        "##bcftoolsVersion=1.16+htslib-1.16",
        "##bcftoolsCommand=mpileup -f ref.fa -a AD,DP sample.bam",
        "##reference=file://ref.fa",
        "##contig=<ID=chr1,length=248956422>",
        '##ALT=<ID=*,Description="Represents allele(s) other than observed.">',
        '##INFO=<ID=INDEL,Number=0,Type=Flag,Description="Indicates that the variant is an INDEL.">',
        '##INFO=<ID=IDV,Number=1,Type=Integer,Description="Maximum number of raw reads supporting an indel">',
        '##INFO=<ID=IMF,Number=1,Type=Float,Description="Maximum fraction of raw reads supporting an indel">',
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Raw read depth">',
        '##INFO=<ID=VDB,Number=1,Type=Float,Description="Variant Distance Bias for filtering splice-site '
        'artefacts in RNA-seq data (bigger is better)",Version="3">',
        '##INFO=<ID=RPBZ,Number=1,Type=Float,Description="Mann-Whitney U-z test of Read Position Bias (closer to '
        '0 is better)">',
        '##INFO=<ID=MQBZ,Number=1,Type=Float,Description="Mann-Whitney U-z test of Mapping Quality Bias (closer '
        'to 0 is better)">',
        '##INFO=<ID=SGB,Number=1,Type=Float,Description="Segregation based metric.">',
        '##INFO=<ID=MQ0F,Number=1,Type=Float,Description="Fraction of MQ0 reads (smaller is better)">',
        '##FORMAT=<ID=PL,Number=G,Type=Integer,Description="List of Phred-scaled genotype likelihoods">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Number of high-quality bases">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths (high-quality bases)">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count in genotypes for each ALT allele, in the '
        'same order as listed">',
        '##INFO=<ID=AN,Number=1,Type=Integer,Description="Total number of alleles in called genotypes">',
        '##INFO=<ID=DP4,Number=4,Type=Integer,Description="Number of high-quality ref-forward , ref-reverse, '
        'alt-forward and alt-reverse bases">',
        '##INFO=<ID=MQ,Number=1,Type=Integer,Description="Average mapping quality">',
        "##bcftools_callVersion=1.16+htslib-1.16",
        "##bcftools_callCommand=call -mv -Oz -o calls.vcf.gz; Date=Wed Mar  1 10:00:00 2023",
        _chrom_line("sample"),
        _rec("chr1", "14907", ".", "A", "G", "225.417", ".",
             "DP=40;VDB=0.548;SGB=-0.693;RPBZ=0.21;MQBZ=0;MQ0F=0;AC=2;AN=2;DP4=0,0,19,19;MQ=60", "GT:PL:DP:AD",
             "1/1:255,114,0:38:0,38"),
        _rec("chr1", "15211", ".", "T", "G", "114.2", ".",
             "DP=20;VDB=0.1;SGB=-0.69;RPBZ=-0.5;MQBZ=0;MQ0F=0;AC=1;AN=2;DP4=5,4,6,5;MQ=42", "GT:PL:DP:AD",
             "0/1:147,0,160:20:9,11"),
        _rec("chr1", "16495", ".", "GCC", "GC", "45.3", ".",
             "INDEL;IDV=6;IMF=0.4;DP=15;VDB=0.3;SGB=-0.6;MQBZ=0.1;MQ0F=0;AC=1;AN=2;DP4=4,5,3,3;MQ=50",
             "GT:PL:DP:AD", "0/1:78,0,120:15:9,6"),
    ],
    # bcftools declares MQ as Integer (reserved Float: compatible); ##ALT=<ID=*> is no SV type in VCF 4.2.
    frozenset({"VCF_META_RESERVED_LOOSE", "VCF_META_ID_INVALID"}),
    True,
)

FREEBAYES = CallerFile(
    "freebayes",
    [
        "##fileformat=VCFv4.2",
        "##fileDate=20230301",
        "##source=freeBayes v1.3.6",
        "##reference=ref.fa",
        "##contig=<ID=chr1,length=248956422>",
        "##phasing=none",
        "##commandline=\"freebayes -f ref.fa sample.bam\"",
        '##INFO=<ID=NS,Number=1,Type=Integer,Description="Number of samples with data">',
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Total read depth at the locus">',
        '##INFO=<ID=DPB,Number=1,Type=Float,Description="Total read depth per bp at the locus">',
        '##INFO=<ID=AC,Number=A,Type=Integer,Description="Total number of alternate alleles in called genotypes">',
        '##INFO=<ID=AN,Number=1,Type=Integer,Description="Total number of alleles in called genotypes">',
        '##INFO=<ID=AF,Number=A,Type=Float,Description="Estimated allele frequency in the range (0,1]">',
        '##INFO=<ID=RO,Number=1,Type=Integer,Description="Count of full observations of the reference haplotype.">',
        '##INFO=<ID=AO,Number=A,Type=Integer,Description="Count of full observations of this alternate '
        'haplotype.">',
        '##INFO=<ID=TYPE,Number=A,Type=String,Description="The type of allele, either snp, mnp, ins, del, or '
        'complex.">',
        '##INFO=<ID=CIGAR,Number=A,Type=String,Description="The extended CIGAR representation of each alternate '
        'allele">',
        '##INFO=<ID=NUMALT,Number=1,Type=Integer,Description="Number of unique non-reference alleles in called '
        'genotypes at this position.">',
        '##INFO=<ID=LEN,Number=A,Type=Integer,Description="allele length">',
        '##INFO=<ID=MQM,Number=A,Type=Float,Description="Mean mapping quality of observed alternate alleles">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=GQ,Number=1,Type=Float,Description="Genotype Quality, the Phred-scaled marginal (or '
        'unconditional) probability of the called genotype">',
        '##FORMAT=<ID=GL,Number=G,Type=Float,Description="Genotype Likelihood, log10-scaled likelihoods of the '
        'data given the called genotype for each possible genotype generated from the reference and alternate '
        'alleles given the sample ploidy">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read Depth">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Number of observation for each allele">',
        '##FORMAT=<ID=RO,Number=1,Type=Integer,Description="Reference allele observation count">',
        '##FORMAT=<ID=AO,Number=A,Type=Integer,Description="Alternate allele observation count">',
        _chrom_line("sample"),
        _rec("chr1", "14907", ".", "A", "G", "1021.5", ".",
             "AC=2;AF=1;AN=2;AO=38;CIGAR=1X;DP=38;DPB=38;LEN=1;MQM=60;NS=1;NUMALT=1;RO=0;TYPE=snp",
             "GT:GQ:GL:DP:AD:RO:AO", "1/1:158.5:-92.1,-11.4,0:38:0,38:0:38"),
        _rec("chr1", "16495", ".", "GCCT", "GCT,GTCT", "150.3", ".",
             "AC=1,1;AF=0.5,0.5;AN=2;AO=6,5;CIGAR=1M1D2M,1M1X2M;DP=15;DPB=14.75;LEN=1,1;MQM=50,52;NS=1;NUMALT=2;"
             "RO=2;TYPE=del,snp", "GT:GQ:GL:DP:AD:RO:AO", "1/2:40.2:-30.1,-18.2,-17.5,-19.1,0,-20.2:13:2,6,5:2:6,5"),
    ],
    # freebayes declares FORMAT GQ as Float (the spec reserves Integer).
    frozenset({"VCF_META_RESERVED"}),
    True,
)

GNOMAD_SITES = CallerFile(
    "gnomad_like_sites_only",
    [
        "##fileformat=VCFv4.2",
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FILTER=<ID=AC0,Description="Allele count is zero after filtering out low-confidence genotypes">',
        '##FILTER=<ID=AS_VQSR,Description="Failed VQSR filtering thresholds">',
        '##INFO=<ID=AC,Number=A,Type=Integer,Description="Alternate allele count">',
        '##INFO=<ID=AN,Number=1,Type=Integer,Description="Total number of alleles">',
        '##INFO=<ID=AF,Number=A,Type=Float,Description="Alternate allele frequency">',
        '##INFO=<ID=nhomalt,Number=A,Type=Integer,Description="Count of homozygous individuals">',
        '##INFO=<ID=AC_afr,Number=A,Type=Integer,Description="Alternate allele count for samples of African/'
        'African-American ancestry">',
        '##INFO=<ID=AF_afr,Number=A,Type=Float,Description="Alternate allele frequency for samples of African/'
        'African-American ancestry">',
        '##INFO=<ID=variant_type,Number=1,Type=String,Description="Variant type (snv, indel, multi-snv, '
        'multi-indel, or mixed)">',
        '##INFO=<ID=vep,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. Format: '
        'Allele|Consequence|IMPACT|SYMBOL">',
        "##contig=<ID=chr1,length=248956422>",
        _chrom_line(),
        _rec("chr1", "10031", ".", "T", "C", "1.2", "AC0",
             "AC=0;AN=56642;AF=0;nhomalt=0;AC_afr=0;AF_afr=0;variant_type=snv;vep=C|upstream_gene_variant|"
             "MODIFIER|DDX11L1"),
        _rec("chr1", "10037", "rs1234", "T", "C,G", "35.6", "PASS",
             "AC=2,1;AN=60000;AF=3.3e-05,1.67e-05;nhomalt=0,0;AC_afr=1,0;AF_afr=6.2e-05,0;variant_type=multi-snv"),
        _rec("chr1", "10108", ".", "CAACCCT", "C", "50.4", "AS_VQSR",
             "AC=5;AN=40000;AF=0.000125;nhomalt=0;AC_afr=0;AF_afr=0;variant_type=indel"),
    ],
    frozenset(),
    False,
)

DBSNP_SITES = CallerFile(
    "dbsnp_like_sites_only",
    [
        "##fileformat=VCFv4.0",
        "##fileDate=20180418",
        "##source=dbSNP",
        "##dbSNP_BUILD_ID=151",
        "##reference=GRCh38.p7",
        "##phasing=partial",
        '##INFO=<ID=RS,Number=1,Type=Integer,Description="dbSNP ID (i.e. rs number)">',
        '##INFO=<ID=RSPOS,Number=1,Type=Integer,Description="Chr position reported in dbSNP">',
        '##INFO=<ID=dbSNPBuildID,Number=1,Type=Integer,Description="First dbSNP Build for RS">',
        '##INFO=<ID=SAO,Number=1,Type=Integer,Description="Variant Allele Origin: 0 - unspecified, 1 - Germline, '
        '2 - Somatic, 3 - Both">',
        '##INFO=<ID=VC,Number=1,Type=String,Description="Variation Class">',
        '##INFO=<ID=CAF,Number=.,Type=String,Description="An ordered, comma delimited list of allele frequencies '
        'based on 1000Genomes, starting with the reference allele followed by alternate alleles as ordered in the '
        'ALT column.">',
        '##INFO=<ID=COMMON,Number=1,Type=Integer,Description="RS is a common SNP.">',
        '##INFO=<ID=1000G,Number=0,Type=Flag,Description="Variant is in 1000 Genomes">',
        '##INFO=<ID=1000GAF,Number=1,Type=Float,Description="1000 Genomes allele frequency">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
        _rec("1", "10019", "rs775809821", "TA", "T", ".", ".",
             "RS=775809821;RSPOS=10020;dbSNPBuildID=144;SAO=0;VC=DIV"),
        _rec("1", "10177", "rs367896724", "A", "AC", ".", ".",
             "RS=367896724;RSPOS=10177;dbSNPBuildID=138;SAO=0;VC=DIV;CAF=0.5747,0.4253;COMMON=1;1000G;"
             "1000GAF=0.4253"),
        _rec("1", "10352", "rs555500075", "T", "TA,C", ".", ".",
             "RS=555500075;RSPOS=10352;dbSNPBuildID=142;SAO=0;VC=DIV;CAF=0.5625,0.4375,.;COMMON=1"),
    ],
    # dbSNP still writes VCFv4.0 (checked as 4.1) and no ##contig lines.
    frozenset({"VCF_FILEFORMAT_OLD", "VCF_CONTIG_NOT_IN_HEADER"}),
    False,
)

VARSCAN2 = CallerFile(
    "varscan2_mpileup2snp",
    [
        "##fileformat=VCFv4.1",
        "##source=VarScan2",
        '##INFO=<ID=ADP,Number=1,Type=Integer,Description="Average per-sample depth of bases with Phred score >= '
        '15">',
        '##INFO=<ID=WT,Number=1,Type=Integer,Description="Number of samples called reference (wild-type)">',
        '##INFO=<ID=HET,Number=1,Type=Integer,Description="Number of samples called heterozygous-variant">',
        '##INFO=<ID=HOM,Number=1,Type=Integer,Description="Number of samples called homozygous-variant">',
        '##INFO=<ID=NC,Number=1,Type=Integer,Description="Number of samples not called">',
        '##FILTER=<ID=str10,Description="Less than 10% or more than 90% of variant supporting reads on one '
        'strand">',
        '##FILTER=<ID=indelError,Description="Likely artifact due to indel reads at this position">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype Quality">',
        '##FORMAT=<ID=SDP,Number=1,Type=Integer,Description="Raw Read Depth as reported by SAMtools">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Quality Read Depth of bases with Phred score >= 15">',
        '##FORMAT=<ID=RD,Number=1,Type=Integer,Description="Depth of reference-supporting bases (reads1)">',
        '##FORMAT=<ID=AD,Number=1,Type=Integer,Description="Depth of variant-supporting bases (reads2)">',
        '##FORMAT=<ID=FREQ,Number=1,Type=String,Description="Variant allele frequency">',
        '##FORMAT=<ID=PVAL,Number=1,Type=String,Description="P-value from Fisher\'s Exact Test">',
        '##FORMAT=<ID=RBQ,Number=1,Type=Integer,Description="Average quality of reference-supporting bases '
        '(qual1)">',
        '##FORMAT=<ID=ABQ,Number=1,Type=Integer,Description="Average quality of variant-supporting bases '
        '(qual2)">',
        '##FORMAT=<ID=RDF,Number=1,Type=Integer,Description="Depth of reference-supporting bases on forward '
        'strand (reads1plus)">',
        '##FORMAT=<ID=RDR,Number=1,Type=Integer,Description="Depth of reference-supporting bases on reverse '
        'strand (reads1minus)">',
        '##FORMAT=<ID=ADF,Number=1,Type=Integer,Description="Depth of variant-supporting bases on forward strand '
        '(reads2plus)">',
        '##FORMAT=<ID=ADR,Number=1,Type=Integer,Description="Depth of variant-supporting bases on reverse strand '
        '(reads2minus)">',
        _chrom_line("Sample1"),
        _rec("chr1", "14907", ".", "A", "G", ".", "PASS", "ADP=38;WT=0;HET=0;HOM=1;NC=0",
             "GT:GQ:SDP:DP:RD:AD:FREQ:PVAL:RBQ:ABQ:RDF:RDR:ADF:ADR",
             "1/1:255:40:38:0:38:100%:1.2E-22:0:38:0:0:19:19"),
        _rec("chr1", "15211", ".", "T", "G", ".", "str10", "ADP=20;WT=0;HET=1;HOM=0;NC=0",
             "GT:GQ:SDP:DP:RD:AD:FREQ:PVAL:RBQ:ABQ:RDF:RDR:ADF:ADR",
             "0/1:60:21:20:9:11:55%:9.8E-7:37:36:4:5:11:0"),
    ],
    # VarScan declares AD/ADF/ADR as Number=1 (reserved: R): one value per sample, its own convention; it
    # writes no ##contig lines.
    frozenset({"VCF_META_RESERVED", "VCF_CONTIG_NOT_IN_HEADER"}),
    True,
)

LUMPY = CallerFile(
    "lumpy_svtyper_unsorted",
    [
        "##fileformat=VCFv4.2",
        "##source=LUMPY",
        '##INFO=<ID=SVTYPE,Number=1,Type=String,Description="Type of structural variant">',
        '##INFO=<ID=SVLEN,Number=.,Type=Integer,Description="Difference in length between REF and ALT alleles">',
        '##INFO=<ID=END,Number=1,Type=Integer,Description="End position of the variant described in this record">',
        '##INFO=<ID=STRANDS,Number=.,Type=String,Description="Strand orientation of the adjacency in BEDPE '
        'format (DEL:+-, DUP:-+, INV:++/--)">',
        '##INFO=<ID=IMPRECISE,Number=0,Type=Flag,Description="Imprecise structural variation">',
        '##INFO=<ID=CIPOS,Number=2,Type=Integer,Description="Confidence interval around POS for imprecise '
        'variants">',
        '##INFO=<ID=CIEND,Number=2,Type=Integer,Description="Confidence interval around END for imprecise '
        'variants">',
        '##INFO=<ID=CIPOS95,Number=2,Type=Integer,Description="Confidence interval (95%) around POS for '
        'imprecise variants">',
        '##INFO=<ID=MATEID,Number=.,Type=String,Description="ID of mate breakends">',
        '##INFO=<ID=EVENT,Number=1,Type=String,Description="ID of event associated to breakend">',
        '##INFO=<ID=SECONDARY,Number=0,Type=Flag,Description="Secondary breakend in a multi-line variants">',
        '##INFO=<ID=SU,Number=.,Type=Integer,Description="Number of pieces of evidence supporting the variant '
        'across all samples">',
        '##INFO=<ID=PE,Number=.,Type=Integer,Description="Number of paired-end reads supporting the variant '
        'across all samples">',
        '##INFO=<ID=SR,Number=.,Type=Integer,Description="Number of split reads supporting the variant across '
        'all samples">',
        '##ALT=<ID=DEL,Description="Deletion">',
        '##ALT=<ID=DUP,Description="Duplication">',
        '##ALT=<ID=INV,Description="Inversion">',
        '##ALT=<ID=DUP:TANDEM,Description="Duplication as tandem repeat">',
        '##ALT=<ID=INS,Description="Insertion of novel sequence">',
        '##ALT=<ID=CNV,Description="Copy number variable region">',
        '##ALT=<ID=DEL:ME,Description="Deletion of mobile element">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=SU,Number=1,Type=Integer,Description="Number of pieces of evidence supporting the '
        'variant">',
        '##FORMAT=<ID=PE,Number=1,Type=Integer,Description="Number of paired-end reads supporting the variant">',
        '##FORMAT=<ID=SR,Number=1,Type=Integer,Description="Number of split reads supporting the variant">',
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">',
        '##FORMAT=<ID=SQ,Number=1,Type=Float,Description="Phred-scaled probability that this site is variant '
        '(non-reference in this sample">',
        '##FORMAT=<ID=GL,Number=G,Type=Float,Description="Genotype Likelihood, log10-scaled likelihoods of the '
        'data given the called genotype for each possible genotype generated from the reference and alternate '
        'alleles given the sample ploidy">',
        '##FORMAT=<ID=AB,Number=A,Type=Float,Description="Allele balance, fraction of observations from '
        'alternate allele, QA/(QR+QA)">',
        "##contig=<ID=1,length=249250621>",
        "##contig=<ID=2,length=243199373>",
        _chrom_line("NA12878"),
        _rec("1", "869477", "1", "N", "<DEL>", "252.5", ".",
             "SVTYPE=DEL;SVLEN=-319;END=869796;STRANDS=+-:12;IMPRECISE;CIPOS=-10,8;CIEND=-9,10;CIPOS95=-2,2;SU=12;"
             "PE=10;SR=2", "GT:SU:PE:SR:GQ:SQ:GL:AB", "0/1:12:10:2:99:252.5:-27,-2,-35:0.4"),
        _rec("2", "321682", "2_1", "N", "N[1:321682[", ".", ".",
             "SVTYPE=BND;STRANDS=--:8;IMPRECISE;CIPOS=-20,10;CIEND=-15,12;CIPOS95=-3,3;MATEID=2_2;EVENT=2;SU=8;PE=8;"
             "SR=0", "GT:SU:PE:SR:GQ:SQ:GL:AB", "0/1:8:8:0:60:120.1:-15,-1,-22:0.3"),
        _rec("1", "321682", "2_2", "N", "N[2:321682[", ".", ".",
             "SVTYPE=BND;STRANDS=--:8;SECONDARY;IMPRECISE;CIPOS=-15,12;CIEND=-20,10;CIPOS95=-3,3;MATEID=2_1;"
             "EVENT=2;SU=8;PE=8;SR=0", "GT:SU:PE:SR:GQ:SQ:GL:AB", "0/1:8:8:0:60:120.1:-15,-1,-22:0.3"),
    ],
    # LUMPY writes each SV type (and the secondary breakends) in turn: contigs come back, which VCF 4.2 says
    # only should not happen (strict accepts it too).
    frozenset({"VCF_CONTIG_NOT_CONTIGUOUS"}),
    False,
)

CALLER_FILES = [
    GATK_GVCF, DEEPVARIANT_GVCF, GENOTYPE_GVCFS_COHORT, MUTECT2, STRELKA2, MANTA, DELLY, GRIDSS, VEP, SNPEFF,
    BCFTOOLS_CALL, FREEBAYES, GNOMAD_SITES, DBSNP_SITES, VARSCAN2, LUMPY,
]


@pytest.fixture()
def written(tmp_path: Path):
    def write(caller: CallerFile) -> Path:
        path = tmp_path / f"{caller.name}.vcf"
        path.write_text(caller.text())
        return path

    return write


@pytest.mark.parametrize("caller", CALLER_FILES, ids=[c.name for c in CALLER_FILES])
def test_vcf_callers_valid_by_default_with_expected_warnings(written, caller):
    rep = validate_path(str(written(caller)))
    assert rep.valid, [(i.code, i.line, i.message) for i in rep.errors]
    assert set(rep.warning_counts()) == caller.warnings, [(i.code, i.line, i.message) for i in rep.warnings]
    conf = rep.conformance()
    assert conf["profile"] == "default" and conf["warning_count"] == sum(rep.warning_counts().values())
    assert all(w["line"] and w["line"] > 0 for w in conf["warnings"])


@pytest.mark.parametrize("caller", CALLER_FILES, ids=[c.name for c in CALLER_FILES])
def test_vcf_callers_strict_rejects_exactly_the_nonconforming_ones(written, caller):
    rep = validate_path(str(written(caller)), profile="strict")
    assert rep.valid is not caller.nonconforming, [(i.code, i.message) for i in rep.errors]
    assert {i.code for i in rep.errors} <= caller.warnings


def test_vcf_callers_wide_cohort_header_is_valid(tmp_path):
    """A biobank-scale cohort: the #CHROM line of 300,000 samples is several MiB long."""
    n = 300_000
    names = "\t".join(f"SAMPLE{i:07d}" for i in range(n))
    genotypes = "\t".join(["0/1", "0/0", "1/1"] * (n // 3))
    path = tmp_path / "cohort.vcf"
    path.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        f"{_chrom_line()}\tFORMAT\t{names}\n"
        f"chr1\t10177\t.\tA\tAC\t.\tPASS\t.\tGT\t{genotypes}\n"
    )
    rep = validate_path(str(path), profile="strict")
    assert rep.valid and rep.warnings == [], [(i.code, i.message) for i in rep.errors]
    assert rep.stats["samples"] == n and rep.stats["records"] == 1


@pytest.mark.parametrize("caller", CALLER_FILES, ids=[c.name for c in CALLER_FILES])
def test_vcf_callers_read_by_bcftools(written, caller):
    """The files are what htslib reads: bcftools 1.16 parses every record of each (to VCF text)."""
    exe = shutil.which("bcftools")
    assert exe is not None
    proc = subprocess.run([exe, "view", "-Ov", "-o", "/dev/null", str(written(caller))], capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode()[-500:]
