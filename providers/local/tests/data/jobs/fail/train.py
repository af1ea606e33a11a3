import sys

for i in range(40):
    print(f"step {i}")
print("RuntimeError: loss is nan", file=sys.stderr)
sys.exit(3)
