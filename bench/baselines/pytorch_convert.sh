#!/bin/sh
# Times reading torch.save files: soup inspect and soup convert of a 512 MiB bf16 .bin against
# cp + sync of the same file, and convert of 128 MiB of transposed (non-contiguous) views; then
# checks the converted transposes against PyTorch's own view of them. Needs Debian's python3-torch.
# Usage: bench/baselines/pytorch_convert.sh [WORKDIR]   (run from the repository root after ./soup builds)
set -e
SOUP="$(pwd)/src/ModelSoups.Cli/bin/Release/net10.0/soup"
WORK="${1:-/tmp/soup-pytorch-bench}"
mkdir -p "$WORK" && cd "$WORK"
/usr/bin/python3 -c "
import torch, collections
torch.manual_seed(0)
sd = collections.OrderedDict(('layers.%d.weight' % i, torch.randn(4096, 2048).to(torch.bfloat16)) for i in range(32))
torch.save(sd, 'big.bin')
torch.save(collections.OrderedDict((k, v.t()) for k, v in list(sd.items())[:8]), 'transposed.bin')
"
cat big.bin transposed.bin > /dev/null
for i in 1 2; do
  /usr/bin/time -f "inspect %e s" "$SOUP" inspect big.bin > /dev/null
  rm -rf out; /usr/bin/time -f "convert %e s" "$SOUP" convert big.bin --out out
  rm -f cp.bin; /usr/bin/time -f "cp+sync %e s" sh -c 'cp big.bin cp.bin && sync cp.bin'
  rm -rf outt; /usr/bin/time -f "convert-transposed %e s" "$SOUP" convert transposed.bin --out outt
done
/usr/bin/python3 -c "
import torch, json, struct, numpy as np
sd = torch.load('transposed.bin')
b = open('outt/model.safetensors', 'rb').read()
n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8 + n])
ok = all((np.frombuffer(b[8 + n + h[k]['data_offsets'][0]:8 + n + h[k]['data_offsets'][1]], dtype=np.int16)
          == sd[k].contiguous().view(torch.int16).numpy().ravel()).all() for k in sd)
print('transposed views match PyTorch:', ok)
"
rm -rf out outt cp.bin big.bin transposed.bin
