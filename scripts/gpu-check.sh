#!/bin/bash
# scripts/gpu-check.sh: what we need to learn on an NVIDIA machine, in one
# unattended run of at most 8 minutes, printed as one JSON document on
# stdout (progress on stderr; also written to $OUT/gpu-check.json):
#   - the devices OpenCL sees (name, memory, PCI bus id and UUID where the
#     driver reports them) and nvidia-smi's view of the same GPUs;
#   - our mode-610 OpenCL rate on each GPU beside hashcat's (-b -m 610);
#   - sn27 pog prove on all GPUs at once and on one: rates, the model the
#     table identifies, the time to prove.
# Prepare it here with `make gpu-check-prep` (builds bin/sn27, downloads
# hashcat and the OpenCL ICD loader as Debian packages into .gpu-debs/),
# then run it on the GPU machine from the repository root, carrying bin and
# .gpu-debs:  OUT=$OUT scripts/gpu-check.sh
# It installs nothing it does not find missing: the ICD loader and hashcat
# from .gpu-debs (dpkg as root, else unpacked under $OUT), and an
# nvidia.icd naming libnvidia-opencl.so.1 when the driver has one and no
# vendor file names it. Every step has its own time limit; a failed step is
# reported in "errors" and the others still run.
set -u
START=$(date +%s)
OUT=${OUT:-/tmp/gpu-check}
SN27=${SN27:-./bin/sn27}
DEBS=${DEBS:-.gpu-debs}
# A dry run on a machine without GPUs: GPU_CHECK_TYPE=cpu POG_ARGS="--test-models
# --model 'PoCL CPU' --memory 256MiB" proves the CPU's PoCL device instead.
TYPE=${GPU_CHECK_TYPE:-gpu}
POG_ARGS=${POG_ARGS:-}
eval "POG_ARR=($POG_ARGS)" # the operator's own words, shell-quoted
HC_TYPE=2; [ "$TYPE" = cpu ] && HC_TYPE=1
mkdir -p "$OUT"
ERRORS=()
log() { echo "gpu-check: $*" >&2; }
err() { log "ERROR: $*"; ERRORS+=("$*"); }
# json_str: a JSON string of $1.
json_str() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' -e 's/\r//g' | awk 'BEGIN{ORS=""} NR>1{print "\\n"} {print}' | sed 's/^/"/; s/$/"/'; }
# left: seconds left of the 8 minutes (less 20 s to print).
left() { echo $(( 460 - ($(date +%s) - START) )); }
# json_or_null: the file's content if it is non-empty, else null.
json_or_null() { if [ -s "$1" ]; then cat "$1"; else printf null; fi; }

# 1. The OpenCL ICD loader, the NVIDIA vendor file, hashcat.
ROOT="$OUT/root"
if ! ldconfig -p 2>/dev/null | grep -q 'libOpenCL.so.1'; then
  deb=$(ls "$DEBS"/ocl-icd-libopencl1_*.deb 2>/dev/null | head -1)
  if [ -z "$deb" ]; then err "no OpenCL ICD loader and no $DEBS/ocl-icd-libopencl1_*.deb"
  elif [ "$(id -u)" = 0 ] && dpkg -i "$deb" >"$OUT/dpkg-ocl.log" 2>&1; then log "installed $deb"
  else dpkg -x "$deb" "$ROOT" && export LD_LIBRARY_PATH="$ROOT/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" && log "unpacked $deb under $ROOT"
  fi
fi
NVLIB=$( (ldconfig -p 2>/dev/null | awk '/libnvidia-opencl.so.1 /{print $NF; exit}'; find /usr/lib* /usr/local/nvidia /run/nvidia -name 'libnvidia-opencl.so.1' 2>/dev/null) | head -1)
if [ -n "$NVLIB" ] && ! grep -qs 'libnvidia-opencl' /etc/OpenCL/vendors/*.icd; then
  if [ "$(id -u)" = 0 ] && mkdir -p /etc/OpenCL/vendors && echo libnvidia-opencl.so.1 > /etc/OpenCL/vendors/nvidia.icd; then
    log "wrote /etc/OpenCL/vendors/nvidia.icd"
  else
    mkdir -p "$OUT/vendors"; echo "$NVLIB" > "$OUT/vendors/nvidia.icd"; export OCL_ICD_VENDORS="$OUT/vendors"
    log "OCL_ICD_VENDORS=$OUT/vendors"
  fi
fi
[ -n "$NVLIB" ] || [ "$TYPE" = cpu ] || err "no libnvidia-opencl.so.1 on this machine (is the NVIDIA driver installed?)"
HASHCAT=$(command -v hashcat || true)
if [ -z "$HASHCAT" ]; then
  debs=$(ls "$DEBS"/hashcat_*.deb "$DEBS"/hashcat-data_*.deb "$DEBS"/libminizip1_*.deb "$DEBS"/libxxhash0_*.deb 2>/dev/null)
  if [ -z "$debs" ]; then err "no hashcat and no hashcat debs in $DEBS"
  elif [ "$(id -u)" = 0 ] && dpkg -i --force-depends $debs >"$OUT/dpkg-hashcat.log" 2>&1; then HASHCAT=$(command -v hashcat); log "installed hashcat from $DEBS"
  else
    for d in $debs; do dpkg -x "$d" "$ROOT"; done
    export LD_LIBRARY_PATH="$ROOT/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    HASHCAT="$ROOT/usr/bin/hashcat"; log "unpacked hashcat under $ROOT"
  fi
fi
[ -x "$SN27" ] || { err "no sn27 binary at $SN27 (make gpu-check-prep)"; }

# 2. What nvidia-smi and OpenCL see.
timeout 30 nvidia-smi --query-gpu=index,name,pci.bus_id,uuid,memory.total,driver_version --format=csv,noheader >"$OUT/nvidia-smi.csv" 2>&1 || err "nvidia-smi: $(tail -2 "$OUT/nvidia-smi.csv")"
timeout 60 "$SN27" pog devices >"$OUT/devices.json" 2>"$OUT/devices.err" || { err "sn27 pog devices: $(tail -3 "$OUT/devices.err")"; : >"$OUT/devices.json"; }
GPU_INDEXES=$(awk -v t="\"type\": \"$TYPE\"" '/"index":/{gsub(/[^0-9]/,"",$2); i=$2} index($0,t){print i}' "$OUT/devices.json" 2>/dev/null)
GPUS=$(echo $GPU_INDEXES | wc -w)
log "$GPUS OpenCL $TYPE device(s): $(echo $GPU_INDEXES)"
BUS=false; UUID=false
grep -q '"pci_bus_id"' "$OUT/devices.json" 2>/dev/null && BUS=true
grep -q '"uuid"' "$OUT/devices.json" 2>/dev/null && UUID=true

# 3. Mode 610: our OpenCL kernel on each GPU, then hashcat's benchmark.
OCL="["; sep=""
for i in $GPU_INDEXES; do
  [ "$(left)" -gt 120 ] || { err "no time left for the opencl bench of device $i"; break; }
  if timeout 90 "$SN27" bench --solver opencl --opencl.device "$i" --seconds 5 --json >"$OUT/bench-$i.json" 2>"$OUT/bench-$i.err"; then
    OCL+="$sep{\"device\":$i,\"bench\":$(cat "$OUT/bench-$i.json")}"; sep=","
  else err "sn27 bench opencl device $i: $(tail -3 "$OUT/bench-$i.err")"; fi
done
OCL+="]"
HC="null"
if [ -n "$HASHCAT" ] && [ "$(left)" -gt 150 ]; then
  if timeout 150 "$HASHCAT" -b -m 610 -D "$HC_TYPE" --machine-readable --quiet >"$OUT/hashcat.txt" 2>&1; then
    # device_id:mode:...:speed (H/s) lines
    HC="["; sep=""
    while IFS=: read -r dev mode _ _ _ speed _; do
      case "$mode" in 610) HC+="$sep{\"device\":$dev,\"hps\":${speed:-0}}"; sep=",";; esac
    done <"$OUT/hashcat.txt"
    HC+="]"
  else err "hashcat -b -m 610: $(tail -3 "$OUT/hashcat.txt")"; fi
fi

# 4. Proof of GPU: all GPUs at once, then one.
POG_ALL=null; POG_ONE=null
if [ "$GPUS" -gt 0 ]; then
  for n in "$GPUS" 1; do
    [ "$(left)" -gt 60 ] || { err "no time left for sn27 pog prove --count $n"; break; }
    t0=$(date +%s.%N)
    timeout $(( $(left) - 30 )) "$SN27" pog prove --count "$n" --json "${POG_ARR[@]+"${POG_ARR[@]}"}" >"$OUT/pog-$n.json" 2>"$OUT/pog-$n.err"
    rc=$?
    t1=$(date +%s.%N)
    log "sn27 pog prove --count $n: rc $rc in $(echo "$t1 - $t0" | bc 2>/dev/null || echo '?') s"
    [ $rc -eq 0 ] || [ $rc -eq 1 ] || err "sn27 pog prove --count $n: rc $rc: $(tail -3 "$OUT/pog-$n.err")"
    if [ "$n" = "$GPUS" ]; then POG_ALL=$(json_or_null "$OUT/pog-$n.json"); else POG_ONE=$(json_or_null "$OUT/pog-$n.json"); fi
    [ "$GPUS" -gt 1 ] || break
  done
fi

# 5. One JSON document.
{
  printf '{\n"date": %s,\n"host": %s,\n' "$(json_str "$(date -u +%FT%TZ)")" "$(json_str "$(uname -n) $(uname -r)")"
  printf '"sn27": %s,\n' "$(json_str "$("$SN27" --version 2>/dev/null || sha256sum "$SN27" 2>/dev/null | cut -c1-16)")"
  printf '"nvidia_smi": %s,\n' "$(json_str "$(cat "$OUT/nvidia-smi.csv" 2>/dev/null)")"
  printf '"opencl_devices": %s,\n' "$(json_or_null "$OUT/devices.json")"
  printf '"pci_bus_id_reported": %s,\n"uuid_reported": %s,\n' "$BUS" "$UUID"
  printf '"mode610_opencl": %s,\n"mode610_hashcat": %s,\n' "$OCL" "$HC"
  printf '"pog_all_gpus": %s,\n"pog_one_gpu": %s,\n' "$POG_ALL" "$POG_ONE"
  printf '"seconds": %d,\n"errors": [' $(( $(date +%s) - START ))
  sep=""; for e in "${ERRORS[@]+"${ERRORS[@]}"}"; do printf '%s%s' "$sep" "$(json_str "$e")"; sep=", "; done
  printf ']\n}\n'
} | tee "$OUT/gpu-check.json"
