#!/usr/bin/env bash
# Installs the system tools the platform runs: Debian's samtools, bcftools and tabix (htslib 1.16), plus
# the packages that ship real test data (bio-eagle-examples: chr21 VCF; bowtie2-examples: lambda phage
# reads). As root it uses apt-get; otherwise it says what to run.
set -euo pipefail
need=()
for pair in samtools:samtools bcftools:bcftools tabix:tabix bgzip:tabix vcf-validator:vcftools; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
# A C compiler and Python headers build the VCF scanner extension (pip install -e .).
command -v gcc >/dev/null 2>&1 || need+=(gcc)
[ -n "$(python3 -c 'import sysconfig,os;print(os.path.exists(os.path.join(sysconfig.get_paths()["include"],"Python.h")) or "")')" ] || need+=(python3-dev)
[ -e /usr/share/doc/bio-eagle-examples ] || need+=(bio-eagle-examples)
[ -e /usr/share/doc/bowtie2-examples ] || need+=(bowtie2-examples)
if [ "${#need[@]}" -eq 0 ]; then exit 0; fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)  # e.g. a CI runner with passwordless sudo
  else
    echo "Missing system packages: ${need[*]}" >&2
    echo "Install them with: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi
echo "Installing ${need[*]} (apt-get)"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
