#!/usr/bin/env bash
# Regenerate the self-made demo clip (media/demo.mp4) and its ground truth
# (media/demo_truth.tsv) from media/demo_script.tsv.
# Needs: espeak-ng, sox (soxi), ffmpeg.  Deterministic and idempotent.
set -euo pipefail
export LC_ALL=C

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
script="$here/demo_script.tsv"
truth="$here/demo_truth.tsv"
out="$here/demo.mp4"

for tool in espeak-ng sox soxi ffmpeg; do
    command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
done

rate=16000

# Voice per speaker: espeak-ng voice+variant, speed (wpm), pitch (0-99).
voice_args() {
    case "$1" in
        officer) echo "-v en-us+m3 -s 150 -p 35" ;;
        driver)  echo "-v en-us+m7 -s 150 -p 65" ;;
        agent)   echo "-v en-gb+m1 -s 140 -p 20" ;;
        *) echo "unknown speaker: $1" >&2; return 1 ;;
    esac
}

# Pauses (seconds) between lines, cycled by line number: fixed, so the clip
# is the same on every run.
pauses=(0.6 0.9 0.5 1.1 0.7 0.4 1.0 0.8 1.2 0.6 0.5 0.9)
lead_in=0.5
tail=0.8

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

sox_() { sox -R -V1 "$@"; }

# silence of $1 seconds -> $2
make_silence() { sox_ -n -r "$rate" -c 1 -b 16 "$2" trim 0 "$1"; }

# Window knock: three short low-passed noise bursts, then a harder bang.
make_knock() {
    local d="$1" parts=() i
    for i in 1 2 3; do
        sox_ -n -r "$rate" -c 1 -b 16 "$d/k$i.wav" synth 0.07 brownnoise \
            lowpass 1200 fade q 0.003 0.07 0.06 gain -n -4
        make_silence 0.22 "$d/kg$i.wav"
        parts+=("$d/k$i.wav" "$d/kg$i.wav")
    done
    sox_ -n -r "$rate" -c 1 -b 16 "$d/bang.wav" synth 0.25 brownnoise \
        lowpass 2500 fade q 0.002 0.25 0.22 gain -n -1
    sox_ "${parts[@]}" "$d/bang.wav" "$1/knock.wav"
}

samples() { soxi -s "$1"; }
# samples -> integer milliseconds (rounded)
ms() { echo $(( ($1 * 1000 + rate / 2) / rate )); }

pieces=()
make_silence "$lead_in" "$work/lead.wav"
pieces+=("$work/lead.wav")
pos=$(samples "$work/lead.wav")

printf 'index\tspeaker\tstart_ms\tend_ms\ttext\n' > "$work/truth.tsv"

n=0        # script row number (for pauses / file names)
idx=0      # spoken line index in the truth file
while IFS=$'\t' read -r speaker text || [[ -n "${speaker:-}" ]]; do
    [[ -z "$speaker" ]] && continue
    n=$((n + 1))
    if (( n > 1 )); then
        gap="${pauses[$(( (n - 2) % ${#pauses[@]} ))]}"
        make_silence "$gap" "$work/gap$n.wav"
        pieces+=("$work/gap$n.wav")
        pos=$(( pos + $(samples "$work/gap$n.wav") ))
    fi
    if [[ "$speaker" == sfx ]]; then
        [[ "$text" == knock ]] || { echo "unknown sfx: $text" >&2; exit 1; }
        make_knock "$work"
        cp "$work/knock.wav" "$work/line$n.wav"
    else
        # shellcheck disable=SC2046
        espeak-ng $(voice_args "$speaker") -w "$work/raw$n.wav" -- "$text"
        # 16 kHz mono, trim espeak's leading/trailing silence, normalise.
        sox_ "$work/raw$n.wav" -r "$rate" -c 1 -b 16 "$work/line$n.wav" \
            silence 1 0.01 -55d reverse silence 1 0.01 -55d reverse norm -3
    fi
    len=$(samples "$work/line$n.wav")
    if [[ "$speaker" != sfx ]]; then
        printf '%d\t%s\t%d\t%d\t%s\n' "$idx" "$speaker" \
            "$(ms "$pos")" "$(ms $(( pos + len )))" "$text" >> "$work/truth.tsv"
        idx=$((idx + 1))
    fi
    pieces+=("$work/line$n.wav")
    pos=$(( pos + len ))
done < <(tail -n +2 "$script" | tr -d '\r')

make_silence "$tail" "$work/tail.wav"
pieces+=("$work/tail.wav")
sox_ "${pieces[@]}" "$work/demo.wav"

# Tiny "phone video": solid colour 320x180 @ 1 fps + mono AAC audio.
total="$(soxi -D "$work/demo.wav")"
ffmpeg -nostdin -hide_banner -loglevel error -y \
    -f lavfi -i "color=c=0x1e2a38:s=320x180:r=1:d=$total" \
    -i "$work/demo.wav" \
    -map 0:v -map 1:a -t "$total" \
    -c:v libx264 -preset veryslow -tune stillimage -crf 40 -pix_fmt yuv420p \
    -g 10 -threads 1 -x264-params "threads=1" \
    -c:a aac -b:a 56k -ac 1 -ar 48000 \
    -fflags +bitexact -flags:v +bitexact -flags:a +bitexact \
    -map_metadata -1 -map_chapters -1 -movflags +faststart \
    "$work/demo.mp4"

mv "$work/truth.tsv" "$truth"
mv "$work/demo.mp4" "$out"
echo "wrote $out ($(stat -c %s "$out") bytes, $(ms "$(samples "$work/demo.wav")") ms) and $truth"
