"""Sample identity: genotype a fixed panel of common SNPs per upload, compare with the project's other
samples (``bcftools gtcheck``), infer sex from X, and report swaps, duplicates and sex mismatches."""
