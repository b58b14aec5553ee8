# Sums the elements of the trainable nn.parameter ops (not `buffer`) in nn IR read from stdin and
# prints "params: <total> buffers: <total> entries: <count>", so model tests check parameter
# totals independently of kilnc's summary format.
import re
import sys

trainable = buffers = entries = 0
for line in sys.stdin:
    match = re.search(r'nn\.parameter "[^"]*"( buffer)? : tensor<([0-9x]+)xf32>', line)
    if not match:
        continue
    count = 1
    for dim in match.group(2).split("x"):
        count *= int(dim)
    entries += 1
    if match.group(1):
        buffers += count
    else:
        trainable += count
print(f"params: {trainable} buffers: {buffers} entries: {entries}")
