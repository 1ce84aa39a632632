/*
 * store/format.h - every on-disk constant of data directory format 3: file
 * names, the format file, and the byte layouts of segment index files,
 * compressed segments (.zst) and recovery points.
 * docs/FORMAT.md draws the same layouts; change both together, and only
 * with a version bump.  All integers are little-endian.
 */
#ifndef TOPICFS_STORE_FORMAT_H
#define TOPICFS_STORE_FORMAT_H

/* ---- the data directory ---------------------------------------------- */

#define FMT_VERSION	 3u		      /* the version we write */
#define FMT_VERSION_OLDEST 1u		      /* the oldest we read (and
						 upgrade: 2 adds .zst,
						 .deleted, TOPIC/.config,
						 TOPIC/.groups; 3 adds
						 TOPIC/P/recovery-point) */
#define FMT_FILE	 ".topicfs"	      /* DATADIR/.topicfs */
#define FMT_FILE_TMP	 ".topicfs.tmp"	      /* its temp while replaced */
#define FMT_FILE_PREFIX	 "topicfs-format "    /* then the version, '\n' */
#define FMT_FILE_MAX	 64		      /* longest format file read */
#define FMT_SEG_DIGITS	 20		      /* base offset, zero-padded */
#define FMT_LOG_SUFFIX	 ".log"		      /* segment data */
#define FMT_IDX_SUFFIX	 ".idx"		      /* segment index */
#define FMT_TMP_SUFFIX	 ".tmp"		      /* leftover temp: removed */
#define FMT_DEL_SUFFIX	 ".deleted"	      /* partition dir being deleted */
#define FMT_TOPIC_CONFIG ".config"	      /* DATADIR/TOPIC/.config */
#define FMT_TOPIC_CONFIG_TMP ".config.tmp"    /* its temp while replaced */
#define FMT_TOPIC_CONFIG_HEAD "# topicfs topic config: key=value\n"
#define FMT_GROUPS_DIR	 ".groups"	      /* DATADIR/TOPIC/.groups/ */
#define FMT_GROUP_TMP_PREFIX "."	      /* .groups/.GROUP.tmp: a group
						 name never starts with '.',
						 so no group is "x.tmp"'s
						 temp file */
#define FMT_GROUP_FILE_MAX (8u << 20)	      /* largest group file read
						 (100000 lines of 28 bytes
						 fit) */
#define FMT_SEG_NAME_LEN (FMT_SEG_DIGITS + 4) /* "000..000.log" */

/* ---- index file header, 32 bytes at offset 0 ------------------------- */

#define FMT_IDX_MAGIC	  "TFSIDX01"
#define FMT_IDX_MAGIC_LEN 8u
#define FMT_IDX_VERSION	  1u

#define FMT_HDR_SIZE	 32u
#define FMT_HDR_MAGIC	 0u  /* 8  magic "TFSIDX01" */
#define FMT_HDR_VERSION	 8u  /* 4  index format version */
#define FMT_HDR_ENTSIZE	 12u /* 4  entry size (FMT_ENT_SIZE) */
#define FMT_HDR_BASE	 16u /* 8  segment base offset */
#define FMT_HDR_FLAGS	 24u /* 4  flags, below */
#define FMT_HDR_CRC	 28u /* 4  CRC32C of bytes 0..27 */

/* Header flags.  SYNCED: the segment is sealed (it will never grow) and its
 * data, index and directory entry were on stable storage before this flag
 * was written.  Recovery trusts a SYNCED segment (any mismatch is damage)
 * and tail-recovers a segment without it. */
#define FMT_HDR_F_SYNCED 0x1u

/* ---- index entry i, 32 bytes at FMT_HDR_SIZE + FMT_ENT_SIZE * i ------- */

#define FMT_ENT_SIZE	 32u
#define FMT_ENT_OFFSET	 0u  /* 8  partition offset of the first byte */
#define FMT_ENT_LENGTH	 8u  /* 4  record length in bytes */
#define FMT_ENT_DATACRC	 12u /* 4  CRC32C of the record's bytes */
#define FMT_ENT_TIME	 16u /* 8  append time, ms since the epoch, signed */
#define FMT_ENT_RESERVED 24u /* 4  zero */
#define FMT_ENT_CRC	 28u /* 4  CRC32C of bytes 0..27 of the entry */

_Static_assert(sizeof(FMT_IDX_MAGIC) - 1 == FMT_IDX_MAGIC_LEN, "magic");
_Static_assert(FMT_HDR_MAGIC + FMT_IDX_MAGIC_LEN == FMT_HDR_VERSION, "hdr");
_Static_assert(FMT_HDR_VERSION + 4 == FMT_HDR_ENTSIZE, "hdr layout");
_Static_assert(FMT_HDR_ENTSIZE + 4 == FMT_HDR_BASE, "hdr layout");
_Static_assert(FMT_HDR_BASE + 8 == FMT_HDR_FLAGS, "hdr layout");
_Static_assert(FMT_HDR_FLAGS + 4 == FMT_HDR_CRC, "hdr layout");
_Static_assert(FMT_HDR_CRC + 4 == FMT_HDR_SIZE, "hdr layout");
_Static_assert(FMT_ENT_OFFSET + 8 == FMT_ENT_LENGTH, "entry layout");
_Static_assert(FMT_ENT_LENGTH + 4 == FMT_ENT_DATACRC, "entry layout");
_Static_assert(FMT_ENT_DATACRC + 4 == FMT_ENT_TIME, "entry layout");
_Static_assert(FMT_ENT_TIME + 8 == FMT_ENT_RESERVED, "entry layout");
_Static_assert(FMT_ENT_RESERVED + 4 == FMT_ENT_CRC, "entry layout");
_Static_assert(FMT_ENT_CRC + 4 == FMT_ENT_SIZE, "entry layout");
_Static_assert(FMT_HDR_SIZE % FMT_ENT_SIZE == 0, "entries stay aligned");

/* ---- recovery point, DATADIR/TOPIC/P/recovery-point, 32 bytes -------- */

/* Rewritten in place (never synced itself) after syncs of the active
 * segment (at most once a second) and at a clean close: every record below
 * OFFSET was on stable storage when it was written.  Recovery checks the
 * data of the records at or past it. */
#define FMT_RP_FILE	 "recovery-point"
#define FMT_RP_MAGIC	 "TFSRCP01"
#define FMT_RP_VERSION	 1u
#define FMT_RP_SIZE	 32u
#define FMT_RP_MAGIC_OFF 0u  /* 8  magic "TFSRCP01" */
#define FMT_RP_VER	 8u  /* 4  recovery point version */
#define FMT_RP_RESERVED	 12u /* 4  zero */
#define FMT_RP_OFFSET	 16u /* 8  partition offset: durable below it */
#define FMT_RP_RESERVED2 24u /* 4  zero */
#define FMT_RP_CRC	 28u /* 4  CRC32C of bytes 0..27 */

_Static_assert(sizeof(FMT_RP_MAGIC) - 1 == 8, "rp magic");
_Static_assert(FMT_RP_VER + 8 == FMT_RP_OFFSET, "rp layout");
_Static_assert(FMT_RP_OFFSET + 12 == FMT_RP_CRC, "rp layout");
_Static_assert(FMT_RP_CRC + 4 == FMT_RP_SIZE, "rp layout");

/* ---- compressed sealed segment (.zst), see docs/FORMAT.md ------------ */

#define FMT_ZST_SUFFIX	  ".zst"	   /* compressed segment data */
#define FMT_ZST_VERSION	  1u		   /* the one .zst version we read */
#define FMT_ZST_FRAME_MAX (16u << 20)	   /* largest raw bytes per frame */
#define FMT_ZST_MAGIC	  "TFSZST01"	   /* header magic */
#define FMT_ZST_END_MAGIC "TFSZEND1"	   /* trailer magic */
#define FMT_ZST_MAGIC_LEN 8u		   /* both magics */

/* Header, 32 bytes at offset 0. */
#define FMT_ZST_HDR_SIZE    32u
#define FMT_ZST_HDR_MAGIC   0u	/* 8  magic "TFSZST01" */
#define FMT_ZST_HDR_VERSION 8u	/* 4  .zst format version */
#define FMT_ZST_HDR_FRAME   12u /* 4  most raw bytes in one frame */
#define FMT_ZST_HDR_RAWSIZE 16u /* 8  raw (.log) bytes in the file */
#define FMT_ZST_HDR_LEVEL   24u /* 4  zstd level used, s32, for humans */
#define FMT_ZST_HDR_CRC	    28u /* 4  CRC32C of bytes 0..27 */

/* Frame table entry i, 24 bytes at table offset + FMT_ZST_ENT_SIZE * i. */
#define FMT_ZST_ENT_SIZE     24u
#define FMT_ZST_ENT_COFF     0u	 /* 8  file offset of the zstd frame */
#define FMT_ZST_ENT_CLEN     8u	 /* 4  its compressed length */
#define FMT_ZST_ENT_RLEN     12u /* 4  its raw length, 1..frame bytes */
#define FMT_ZST_ENT_RCRC     16u /* 4  CRC32C of its raw bytes */
#define FMT_ZST_ENT_RESERVED 20u /* 4  zero */

/* Trailer, the last 32 bytes of the file. */
#define FMT_ZST_TRL_SIZE    32u
#define FMT_ZST_TRL_MAGIC   0u	/* 8  magic "TFSZEND1" */
#define FMT_ZST_TRL_TABLE   8u	/* 8  file offset of the frame table */
#define FMT_ZST_TRL_FRAMES  16u /* 4  frame count */
#define FMT_ZST_TRL_HDRCRC  20u /* 4  the header's CRC field, again */
#define FMT_ZST_TRL_ENTSIZE 24u /* 4  FMT_ZST_ENT_SIZE */
#define FMT_ZST_TRL_CRC	    28u /* 4  CRC32C of the table, then 0..27 */

_Static_assert(sizeof(FMT_ZST_MAGIC) - 1 == FMT_ZST_MAGIC_LEN, "magic");
_Static_assert(sizeof(FMT_ZST_END_MAGIC) - 1 == FMT_ZST_MAGIC_LEN, "magic");
_Static_assert(FMT_ZST_HDR_MAGIC + FMT_ZST_MAGIC_LEN == FMT_ZST_HDR_VERSION,
	       "zst hdr layout");
_Static_assert(FMT_ZST_HDR_VERSION + 4 == FMT_ZST_HDR_FRAME, "zst hdr layout");
_Static_assert(FMT_ZST_HDR_FRAME + 4 == FMT_ZST_HDR_RAWSIZE, "zst hdr layout");
_Static_assert(FMT_ZST_HDR_RAWSIZE + 8 == FMT_ZST_HDR_LEVEL, "zst hdr layout");
_Static_assert(FMT_ZST_HDR_LEVEL + 4 == FMT_ZST_HDR_CRC, "zst hdr layout");
_Static_assert(FMT_ZST_HDR_CRC + 4 == FMT_ZST_HDR_SIZE, "zst hdr layout");
_Static_assert(FMT_ZST_ENT_COFF + 8 == FMT_ZST_ENT_CLEN, "zst entry layout");
_Static_assert(FMT_ZST_ENT_CLEN + 4 == FMT_ZST_ENT_RLEN, "zst entry layout");
_Static_assert(FMT_ZST_ENT_RLEN + 4 == FMT_ZST_ENT_RCRC, "zst entry layout");
_Static_assert(FMT_ZST_ENT_RCRC + 4 == FMT_ZST_ENT_RESERVED,
	       "zst entry layout");
_Static_assert(FMT_ZST_ENT_RESERVED + 4 == FMT_ZST_ENT_SIZE,
	       "zst entry layout");
_Static_assert(FMT_ZST_TRL_MAGIC + FMT_ZST_MAGIC_LEN == FMT_ZST_TRL_TABLE,
	       "zst trailer layout");
_Static_assert(FMT_ZST_TRL_TABLE + 8 == FMT_ZST_TRL_FRAMES,
	       "zst trailer layout");
_Static_assert(FMT_ZST_TRL_FRAMES + 4 == FMT_ZST_TRL_HDRCRC,
	       "zst trailer layout");
_Static_assert(FMT_ZST_TRL_HDRCRC + 4 == FMT_ZST_TRL_ENTSIZE,
	       "zst trailer layout");
_Static_assert(FMT_ZST_TRL_ENTSIZE + 4 == FMT_ZST_TRL_CRC,
	       "zst trailer layout");
_Static_assert(FMT_ZST_TRL_CRC + 4 == FMT_ZST_TRL_SIZE, "zst trailer layout");

#endif /* TOPICFS_STORE_FORMAT_H */
