#!/usr/bin/env bash
# e2e_includes.sh KIND — includes point down: a check over the #include lines.
#
# The layers as they are today (docs/architecture.md has the tree and the includes
# that do not point down yet, which the folder re-cut removes):
#   - the runtime (engine/dataflow*, evtime, jsonw, jsonr, util) includes only itself;
#   - nothing in engine/ or producers/ includes the console (tui/);
#   - producers know no pipeline (engine/pipelines/);
#   - only engine/ and producers/ include librdkafka (STYLE.md rule 5);
#   - only tui/ includes ncurses (only the TUI thread draws);
#   - libmicrohttpd only in producers/ (webserver.c) and tui/ (metricsrv.c): the
#     engine's metrics are text (engine/kafka/metrics.c), served from above.
# Each rule is a line of the table below; a violation names the file, the line and
# the rule.  No broker is involved: KIND is taken like every e2e script's.
# run.sh: runs=once limit=120 min=9
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh

# Each rule: the files it covers (extended regex on the path), the include it forbids
# (Perl regex, for the runtime's negative look-ahead), and the rule in words.
SCOPE=() FORBID=() WHY=()
rule() { SCOPE+=("$1") FORBID+=("$2") WHY+=("$3"); }
RT='engine/[a-z_]+\.h'   # the runtime: a header directly in engine/
rule '^engine/[a-z_]+\.[ch]$' "#include \"(?!$RT\")" \
    'the runtime (engine/*.[ch]) includes only the runtime'
rule '^engine/pipelines/' "#include \"(?!$RT\"|engine/pipelines/)" \
    'the pipelines include only the runtime and engine/pipelines/'
rule '^engine/kafka/' "#include \"(?!$RT\"|engine/pipelines/|engine/kafka/)" \
    'the Kafka host includes only the runtime, the pipelines and engine/kafka/'
rule '^engine/flink/' "#include \"(?!$RT\"|engine/flink/)" \
    'the Flink client includes only the runtime and engine/flink/'
rule '^(engine|producers)/' '#include "[^"]*tui/' 'engine/ and producers/ do not include the console (tui/)'
rule '^producers/' '#include "engine/(pipelines|flink)/' 'producers know no pipeline and no Flink'
rule '^tui/' '#include <librdkafka/' 'only engine/ and producers/ include librdkafka'
rule '^(engine|producers)/' '#include <n?cursesw?(\.h|/)' 'only tui/ includes ncurses'
rule '^(engine|tui/cli)/' '#include <microhttpd\.h>' \
    'libmicrohttpd only in producers/ (the upload page) and tui/ (the metrics endpoint)'

files=$(git ls-files 'engine/*.[ch]' 'engine/**/*.[ch]' 'producers/*.[ch]' 'tui/*.[ch]' 'tui/**/*.[ch]' 2>/dev/null | sort -u)
[ -n "$files" ] || files=$(find engine producers tui -name '*.[ch]')
nfiles=$(wc -l <<<"$files")
for i in "${!SCOPE[@]}"; do
    bad="" covered=0
    for f in $files; do
        grep -qE -- "${SCOPE[$i]}" <<<"$f" || continue
        covered=$((covered + 1))
        hits=$(grep -nP -- "${FORBID[$i]}" "$f" | sed "s|^|$f:|")
        [ -n "$hits" ] && bad+="$hits"$'\n'
    done
    if [ "$covered" = 0 ]; then
        fail "${WHY[$i]}" "no file matches ${SCOPE[$i]}"
    elif [ -z "$bad" ]; then
        pass "${WHY[$i]} ($covered of $nfiles files)"
    else
        fail "${WHY[$i]}" "$(head -5 <<<"$bad" | tr '\n' ';')"
    fi
done

# The check itself must catch a wrong-way include: a made-up runtime file.
probe=$(mktemp -d)
mkdir -p "$probe/engine"
printf '#include "tui/session.h"\n' >"$probe/engine/evtime.c"
if grep -qP -- "${FORBID[0]}" "$probe/engine/evtime.c" && ! grep -qP -- "${FORBID[0]}" engine/evtime.c; then
    pass "the check catches a runtime file that includes the console's session.h"
else
    fail "the check catches a runtime file that includes the console's session.h"
fi
rm -rf "$probe"
finish
