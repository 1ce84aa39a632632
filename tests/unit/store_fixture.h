/*
 * tests/unit/store_fixture.h - the fixture test_store.c and test_write_at.c
 * share: a temp data dir with an open store, topic "t" and partition 0,
 * and helpers to check a partition's content.  Include after <cmocka.h>.
 */
#ifndef TOPICFS_TEST_STORE_FIXTURE_H
#define TOPICFS_TEST_STORE_FIXTURE_H

/* A test's data dir and open store with topic "t", partition 0. */

struct fix {
	char *dir;		 /* temp data dir, removed at teardown */
	struct tfs_store_opts o; /* options used to (re)open */
	struct tfs_store *st;	 /* the open store, or NULL */
	struct tfs_topic *t;	 /* topic "t", one reference */
	struct tfs_part *p;	 /* partition 0, one reference */
};

static inline void fix_open(struct fix *f)
{
	assert_int_equal(tfs_store_open(f->dir, &f->o, &f->st), 0);
	if (tfs_topic_open(f->st, "t", &f->t) == -ENOENT)
		assert_int_equal(tfs_topic_create(f->st, "t", &f->t), 0);
	if (tfs_part_open(f->t, 0, &f->p) == -ENOENT)
		assert_int_equal(tfs_part_create(f->t, 0, &f->p), 0);
}

static inline void fix_close(struct fix *f)
{
	tfs_part_put(f->p, 1);
	tfs_topic_put(f->t, 1);
	tfs_store_close(f->st);
	f->st = NULL;
}

static inline int fix_setup_seg(void **state, uint64_t seg_bytes)
{
	struct fix *f = calloc(1, sizeof(*f));

	f->dir = th_mkdtemp();
	f->o = th_opts(seg_bytes);
	th_log_clear();
	fix_open(f);
	*state = f;
	return 0;
}

static inline int fix_setup(void **state)
{
	return fix_setup_seg(state, 0);
}

static inline int fix_setup_small(void **state)
{
	return fix_setup_seg(state, TFS_MIN_SEGMENT_BYTES);
}

static inline int fix_teardown(void **state)
{
	struct fix *f = *state;

	if (f->st)
		fix_close(f);
	th_rm_rf(f->dir);
	free(f);
	return 0;
}

/* Fill buf with a pattern derived from seed. */
static inline void pattern(unsigned char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 8));
}

#endif /* TOPICFS_TEST_STORE_FIXTURE_H */
