"""pi by the midpoint rule with MPI (mpi4py): each rank sums its own slices.

    mpirun -n 2 python examples/python/profiling/mpi_pi.py
    python examples/python/profiling/mpi_pi.py          (one rank, no mpirun needed)

Needs an MPI library: Debian's Open MPI (apt-get install openmpi-bin libopenmpi-dev, see
examples/python/APT-PACKAGES) and `pip install mpi4py`. Open MPI refuses to start as root
unless told otherwise: add --allow-run-as-root, or set OMPI_ALLOW_RUN_AS_ROOT=1 and
OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 (containers and CI often run as root). On a machine with
fewer cores than ranks, add --oversubscribe.
"""

import math

from mpi4py import MPI

# ANCHOR: mpi
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()

n = 4_000_000
h = 1.0 / n
start, stop = n * rank // size, n * (rank + 1) // size  # this rank's slices

comm.Barrier()  # start the clock together
t0 = MPI.Wtime()
local = 0.0
for i in range(start, stop):
    x = (i + 0.5) * h
    local += 4.0 / (1.0 + x * x)
pi = comm.reduce(local * h, op=MPI.SUM, root=0)  # rank 0 receives the sum
elapsed = comm.reduce(MPI.Wtime() - t0, op=MPI.MAX, root=0)  # the slowest rank

if rank == 0:
    print(f"{size} rank(s): pi = {pi!r}, |pi_N - pi| = {abs(pi - math.pi):.1e}, "
          f"{elapsed:.2f} s (slowest rank)")
# ANCHOR_END: mpi
