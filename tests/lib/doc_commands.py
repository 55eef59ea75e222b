#!/usr/bin/env python3
"""doc_commands.py FILE... — the streamlab command lines shown in Markdown files.

Reads the fenced code blocks of each FILE and prints, one per line and tab-separated:

    cmd   FILE:LINE  BLOCK  ARGS   a line starting with `streamlab` or `build/streamlab`
                                   (after an optional `$ `); ARGS are the arguments after
                                   the program, shell-quoted, up to the first |, &, ;, <,
                                   >, ( or # (a pipe, a redirection, a comment)
    cat   FILE:LINE  BLOCK  PATH   a `$ cat PATH` line of a block that runs
                                   `engine --replay`, followed by
    want  FILE:LINE  BLOCK  TEXT   each line the block shows as its output

In a block with `$ ` prompts only the prompted lines are commands (the others are their
output, which may start with "streamlab engine: ..." too); in a block without prompts,
the lines are commands only when the block says it is shell (```sh, ```bash, ```shell).
Lines ending in a backslash continue on the next line.  BLOCK numbers the fenced blocks
across all files."""
import re
import shlex
import sys

PROG = re.compile(r'^(?:\$ )?(?:build/)?streamlab(?:\s|$)')


def words(text):
    lex = shlex.shlex(text, posix=True, punctuation_chars='|&;<>()')
    lex.whitespace_split = True
    lex.commenters = '#'
    out = []
    try:
        for tok in lex:
            if tok and all(c in '|&;<>()' for c in tok):
                break
            out.append(tok)
    except ValueError:  # an unclosed quote: keep what was read
        pass
    return out


def main(paths):
    block = 0
    for path in paths:
        with open(path, encoding='utf-8') as f:
            lines = f.read().split('\n')
        in_block = False
        i = 0
        cur = []  # (lineno, text) of the current block
        info = ''
        while i < len(lines):
            line = lines[i]
            if line.startswith('```'):
                if in_block:
                    emit(path, block, cur, info)
                    cur = []
                else:
                    block += 1
                    info = line[3:].strip()
                in_block = not in_block
                i += 1
                continue
            if in_block:
                start = i
                text = line
                while text.endswith('\\') and i + 1 < len(lines):
                    i += 1
                    text = text[:-1] + ' ' + lines[i].strip()
                cur.append((start + 1, text))
            i += 1


def emit(path, block, cur, info):
    prompted = any(t.startswith('$ ') for _, t in cur)
    if not prompted and info not in ('sh', 'bash', 'shell'):
        return
    replay = any(PROG.match(t) and '--replay' in t for _, t in cur)
    j = 0
    while j < len(cur):
        n, t = cur[j]
        if PROG.match(t) and (t.startswith('$ ') or not prompted):
            w = words(t[2:] if t.startswith('$ ') else t)
            print('cmd\t%s:%d\t%d\t%s' % (path, n, block, shlex.join(w[1:])))
        elif replay and t.startswith('$ cat '):
            print('cat\t%s:%d\t%d\t%s' % (path, n, block, t[len('$ cat '):].strip()))
            while j + 1 < len(cur) and not cur[j + 1][1].startswith('$ '):
                j += 1
                print('want\t%s:%d\t%d\t%s' % (path, cur[j][0], block, cur[j][1]))
        j += 1


if __name__ == '__main__':
    main(sys.argv[1:])
