"""Writes a .kiln model that tests one of the frontend's limits (limits.test).

  gen_limits.py blocks N   N blocks, each instantiating the next
  gen_limits.py sum N      Conv2D(channels=(1 + 1 + ... + 1 (N terms) - 1 - ... (10 times)) * 2)
  gen_limits.py parens N   an attribute value inside N parentheses
"""
import sys

kind, n = sys.argv[1], int(sys.argv[2])
if kind == "blocks":
    print("input x: [N, 4]")
    for i in range(n - 1):
        print(f"block B{i}() {{ r = B{i + 1}() }}")
    print(f"block B{n - 1}() {{ r = Relu() }}")
    print("y = B0()")
elif kind == "sum":
    print("input x: [N, 1, 8, 8]")
    print("c = Conv2D(channels=(" + " + ".join(["1"] * n) + " - 1" * 10 + ") * 2, kernel_size=3)")
elif kind == "parens":
    print("input x: [N, 1, 8, 8]")
    print("c = Conv2D(channels=" + "(" * n + "1" + ")" * n + ", kernel_size=3)")
else:
    sys.exit(f"unknown kind {kind}")
