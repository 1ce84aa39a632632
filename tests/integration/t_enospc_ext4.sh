#!/usr/bin/env bash
# t_enospc_ext4: t_enospc on a 4 MiB ext4 image instead of a tmpfs.  There
# the store allocates blocks ahead for records of 64 KiB or more
# (fallocate, store/segment.c), so the full-disk checks also cover a
# fallocate that fails or half succeeds, and its blocks freed again.
export TFS_TNAME=t_enospc_ext4 ENOSPC_FS=ext4
exec bash "$(dirname "$0")/t_enospc.sh"
