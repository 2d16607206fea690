#!/usr/bin/env bash
# The folder layout is the architecture: net -> actors -> storage, never backwards.
# Fails (and names the file) when an include crosses a boundary the wrong way.
set -u
src=$(cd "$(dirname "$0")/../src" && pwd)
rc=0
check() { # folder, forbidden include regex, rule
  local hits
  hits=$(grep -rnE "#include *[<\"]($2)" "$src/$1" 2>/dev/null)
  if [ -n "$hits" ]; then echo "layering: $3"; echo "$hits"; rc=1; fi
}
check net 'storage/|rocksdb/|pqxx' "src/net must reach storage only through actors"
check actors 'net/|boost/beast' "src/actors must not include net/ or Beast"
check storage 'net/|actors/|caf/' "src/storage must not include net/, actors/ or CAF"
check asr 'net/|actors/|storage/|caf/' "src/asr is pure recognition: no net/, actors/, storage/ or CAF"
check audio 'net/|actors/|storage/|asr/|caf/' "src/audio is pure decoding and encoding: no net/, actors/, storage/, asr/ or CAF"
check faults 'net/|actors/|storage/|asr/|audio/|caf/|rocksdb/|pqxx' "src/faults is a leaf: it includes nothing of ours"
check json 'net/|actors/|storage/|asr/|audio/|faults/|caf/|rocksdb/|pqxx|nlohmann' "src/json is a leaf: it includes nothing of ours"
[ $rc = 0 ] && echo "layering: ok"
exit $rc
