"""Two ranks meet over TCP through the variables a distributed launch gives them.

Rank 0 listens on MASTER_ADDR:MASTER_PORT; every other rank connects and says hello; rank 0
answers each with the world size and writes what it heard as metrics and as the model.
"""

import json
import os
import socket
import time
from pathlib import Path

rank = int(os.environ["RANK"])
world = int(os.environ["WORLD_SIZE"])
addr, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
print(f"rank {rank}/{world} local_rank={os.environ['LOCAL_RANK']} master={addr}:{port}", flush=True)

if rank == 0:
    heard = []
    with socket.create_server((addr, port)) as server:
        server.settimeout(30)
        while len(heard) < world - 1:
            conn, _ = server.accept()
            with conn:
                heard.append(json.loads(conn.makefile().readline()))
                conn.sendall(json.dumps({"world": world}).encode() + b"\n")
    print(f"rank 0 heard from {sorted(h['rank'] for h in heard)}", flush=True)
    out = Path(os.environ["MLFORM_OUTPUT_DIR"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "peers.json").write_text(json.dumps(sorted(h["rank"] for h in heard)))
    metrics = {"peers": len(heard), "world_size": world}
    Path(os.environ["MLFORM_METRICS_FILE"]).write_text(json.dumps(metrics))
else:
    deadline = time.monotonic() + 30
    while True:  # rank 0 may not be listening yet
        try:
            conn = socket.create_connection((addr, port), timeout=5)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    with conn:
        conn.sendall(json.dumps({"rank": rank}).encode() + b"\n")
        reply = json.loads(conn.makefile().readline())
    print(f"rank {rank} got {reply}", flush=True)
