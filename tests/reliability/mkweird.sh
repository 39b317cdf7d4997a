#!/bin/sh
# mkweird.sh IN OUT: copies the linked weird workload and renames its two allocation
# sites in .symtab to hostile names (see weird.c). objcopy takes the names as raw bytes.
set -eu
in=$1
out=$2
w=$(printf 'weird"name\\x\001\t\033[31m\303(\377\376{}\342\202\254end')
long=$(printf 'L%.0s\303\251' $(seq 1 1000))$(printf '\377tail')
objcopy --redefine-sym "site_weird=$w" --redefine-sym "site_long=$long" "$in" "$out.tmp"
mv "$out.tmp" "$out"
