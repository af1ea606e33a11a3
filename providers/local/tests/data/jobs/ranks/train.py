"""Two ranks meet over TCP through MASTER_ADDR/MASTER_PORT, as torch.distributed's rendezvous does."""

import json
import os
import socket
import time
from pathlib import Path

rank = int(os.environ["RANK"])
world = int(os.environ["WORLD_SIZE"])
addr, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
assert os.environ["LOCAL_RANK"] == str(rank)
if rank == 0:
    srv = socket.create_server((addr, port))
    srv.settimeout(30)
    got = []
    for _ in range(world - 1):
        conn, _ = srv.accept()
        got.append(json.loads(conn.recv(1024).decode()))
        conn.sendall(b"welcome")
        conn.close()
    print(f"rank 0 met {got}", flush=True)
    Path(os.environ["MLFORM_OUTPUT_DIR"], "met.json").write_text(
        json.dumps(sorted(got, key=lambda g: g["rank"]))
    )
else:
    deadline = time.time() + 30
    while True:
        try:
            s = socket.create_connection((addr, port), timeout=5)
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)
    s.sendall(json.dumps({"rank": rank, "world": world}).encode())
    print(f"rank {rank} got {s.recv(1024).decode()}", flush=True)
