/*
 * store/config.c - topic configuration: Kafka's keys, their defaults and
 * ranges, the "key=value" text form (parsed all or nothing; the escapes of
 * key.separator), and merging a topic's own keys over the store's
 * defaults.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* How a key's value is written. */
enum cfg_kind {
	CFG_INT,  /* decimal */
	CFG_SIZE, /* decimal bytes, K/M/G/T suffixes (powers of 1024) */
	CFG_ENUM, /* a word of cfg_compression */
	CFG_SEP,  /* key.separator: escaped bytes in cfg->key_sep (its v
		     stays 0, so min = max = def = 0) */
};

/* One key: its name, kind, range and built-in default. */
struct cfg_key {
	const char *name;   /* as in the text form */
	enum cfg_kind kind; /* how its value is written */
	int64_t min, max;   /* range of v, inclusive */
	int64_t def;	    /* built-in default of v */
};

static const char *const cfg_compression[] = { "none", "zstd" };

#define CFG_DAY_MS (24ll * 3600 * 1000)

static const struct cfg_key cfg_keys[TFS_CFG_NKEYS] = {
	[TFS_CFG_RETENTION_MS] = { "retention.ms", CFG_INT, -1, INT64_MAX,
				   -1 },
	[TFS_CFG_RETENTION_BYTES] = { "retention.bytes", CFG_SIZE, -1,
				      INT64_MAX, -1 },
	[TFS_CFG_SEGMENT_BYTES] = { "segment.bytes", CFG_SIZE,
				    (int64_t)TFS_MIN_SEGMENT_BYTES,
				    1ll << 40,
				    (int64_t)TFS_DEFAULT_SEGMENT_BYTES },
	[TFS_CFG_SEGMENT_MS] = { "segment.ms", CFG_INT, 1, INT64_MAX,
				 7 * CFG_DAY_MS },
	[TFS_CFG_COMPRESSION] = { "compression", CFG_ENUM, 0, 1,
				  TFS_COMPRESSION_NONE },
	[TFS_CFG_COMPRESSION_LEVEL] = { "compression.level", CFG_INT, 1, 19,
					3 },
	[TFS_CFG_FLUSH_MESSAGES] = { "flush.messages", CFG_INT, 0, INT64_MAX,
				     0 },
	[TFS_CFG_FLUSH_MS] = { "flush.ms", CFG_INT, 0, INT64_MAX, 0 },
	[TFS_CFG_MAX_MESSAGE_BYTES] = { "max.message.bytes", CFG_SIZE, 1,
					TFS_MAX_RECORD_BYTES, 1 << 20 },
	[TFS_CFG_KEY_SEPARATOR] = { "key.separator", CFG_SEP, 0, 0, 0 },
};

/* Longest line tfs_config_parse takes. */
#define CFG_LINE_MAX 4096

void tfs_config_init(struct tfs_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg)); /* key_sep "", and the padding */
	for (unsigned k = 0; k < TFS_CFG_NKEYS; k++)
		cfg->v[k] = cfg_keys[k].def;
}

const char *tfs_config_key_name(unsigned k)
{
	return k < TFS_CFG_NKEYS ? cfg_keys[k].name : NULL;
}

static void cfg_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void cfg_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Decimal (optionally "-1") with a size suffix when size; 0 or -EINVAL. */
static int cfg_number(const char *s, bool size, int64_t *out)
{
	static const char units[] = "KMGT";
	uint64_t v = 0;
	int shift = 0;

	if (!strcmp(s, "-1")) {
		*out = -1;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		uint64_t d = (uint64_t)(*s - '0');

		if (v > ((uint64_t)INT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (*s && size) {
		const char *u = strchr(units, *s & ~0x20);

		if (!(*s & ~0x20) || !u)
			return -EINVAL;
		shift = 10 * (int)(u - units + 1);
		s++;
		if (*s == 'i')
			s++;
		if (*s == 'B' || *s == 'b')
			s++;
	}
	if (*s || (shift && v > ((uint64_t)INT64_MAX >> shift)))
		return -EINVAL;
	*out = (int64_t)(v << shift);
	return 0;
}

/* Parse value s of key k into *out; 0 or -EINVAL with err set. */
static int cfg_value(unsigned k, const char *s, int64_t *out, char *err,
		     size_t errlen)
{
	const struct cfg_key *key = &cfg_keys[k];
	int64_t v = -1;

	if (key->kind == CFG_ENUM) {
		for (size_t i = 0; i < sizeof(cfg_compression) /
					       sizeof(cfg_compression[0]);
		     i++)
			if (!strcmp(s, cfg_compression[i]))
				v = (int64_t)i;
		if (v < 0) {
			cfg_err(err, errlen, "%s: '%s' is not none or zstd",
				key->name, s);
			return -EINVAL;
		}
	} else if (cfg_number(s, key->kind == CFG_SIZE, &v)) {
		cfg_err(err, errlen, "%s: '%s' is not a %s%s", key->name, s,
			key->kind == CFG_SIZE ? "size (N, NK, NM, NG, NT)"
					      : "number",
			key->min < 0 ? ", or -1 for none" : "");
		return -EINVAL;
	}
	if (v < key->min || v > key->max) {
		cfg_err(err, errlen, "%s: %s is outside %lld..%lld", key->name,
			s, (long long)key->min, (long long)key->max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* The value of hex digit c, or -1. */
static int cfg_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The byte the escape at **pp (a backslash) stands for, with *pp moved to
 * its last character; -1 for a bad escape (*pp unchanged). */
static int cfg_unescape(const char **pp)
{
	const char *p = *pp + 1;
	int c, hi, lo;

	switch (*p) {
	case 't':
		c = '\t';
		break;
	case 'n':
		c = '\n';
		break;
	case 'r':
		c = '\r';
		break;
	case '\\':
		c = '\\';
		break;
	case 'x':
		hi = cfg_hex(p[1]);
		lo = hi < 0 ? -1 : cfg_hex(p[2]);
		if (lo < 0 || !(hi | lo))
			return -1;
		c = hi << 4 | lo;
		p += 2;
		break;
	default:
		return -1;
	}
	*pp = p;
	return c;
}

/* Decode key.separator's text s (escapes: tfs_config_parse) into sep
 * (TFS_KEY_SEP_MAX + 1 bytes, NUL-terminated); 0 or -EINVAL with err set
 * (sep unchanged). */
static int cfg_sep_parse(const char *s, char *sep, char *err, size_t errlen)
{
	char out[TFS_KEY_SEP_MAX + 1];
	size_t n = 0;

	for (const char *p = s; *p; p++) {
		int c = (unsigned char)*p;

		if (c == '#') { /* where it may start a comment, as text */
			cfg_err(err, errlen,
				"key.separator: a '#' in '%s' (write \\x23)", s);
			return -EINVAL;
		}
		if (c == '\\' && (c = cfg_unescape(&p)) < 0) {
			cfg_err(err, errlen,
				"key.separator: bad escape in '%s' (\\t \\n \\r \\\\ or \\xHH, not \\x00)",
				s);
			return -EINVAL;
		}
		if (n == TFS_KEY_SEP_MAX) {
			cfg_err(err, errlen,
				"key.separator: '%s' is longer than %d bytes",
				s, TFS_KEY_SEP_MAX);
			return -EINVAL;
		}
		out[n++] = (char)c;
	}
	out[n] = '\0';
	memcpy(sep, out, n + 1);
	return 0;
}

/* sep as text that cfg_sep_parse takes back: printable ASCII as is except
 * '\\' (escaped) and '#' and ' ' (which the parser would take for a comment
 * or trim), \t \n \r, and \xHH for the rest.  Like snprintf. */
static int cfg_sep_format(const char *sep, char *buf, size_t size)
{
	char text[4 * TFS_KEY_SEP_MAX + 1];
	size_t n = 0;

	for (size_t i = 0; i < TFS_KEY_SEP_MAX && sep[i]; i++) {
		unsigned char c = (unsigned char)sep[i];
		const char *esc = c == '\t'   ? "\\t"
				  : c == '\n' ? "\\n"
				  : c == '\r' ? "\\r"
				  : c == '\\' ? "\\\\"
					      : NULL;

		if (esc)
			n += (size_t)sprintf(text + n, "%s", esc);
		else if (c > ' ' && c < 0x7f && c != '#')
			text[n++] = (char)c;
		else
			n += (size_t)sprintf(text + n, "\\x%02x", c);
	}
	text[n] = '\0';
	return snprintf(buf, size, "%s", text);
}

/* Trim spaces and tabs of [*b, *e). */
static void cfg_trim(const char **b, const char **e)
{
	while (*b < *e && (**b == ' ' || **b == '\t' || **b == '\r'))
		(*b)++;
	while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t' ||
			   (*e)[-1] == '\r'))
		(*e)--;
}

/* Apply the line [b, e) to cfg; 0 or -EINVAL with err set. */
static int cfg_line(struct tfs_config *cfg, const char *b, const char *e,
		    char *err, size_t errlen)
{
	char key[CFG_LINE_MAX + 1], val[CFG_LINE_MAX + 1];
	const char *eq, *vb;
	unsigned k;

	/* a comment starts at a '#' that begins the line or follows a
	 * blank, as in a shell: "key=#" is the value "#" (refused where it
	 * is not one), never "key=", which resets the key */
	for (const char *h = b; h < e; h++) {
		if (*h == '#' && (h == b || h[-1] == ' ' || h[-1] == '\t')) {
			e = h;
			break;
		}
	}
	cfg_trim(&b, &e);
	if (b == e)
		return 0;
	eq = memchr(b, '=', (size_t)(e - b));
	if (!eq) {
		cfg_err(err, errlen, "'%.*s': not key=value", (int)(e - b), b);
		return -EINVAL;
	}
	vb = eq + 1;
	cfg_trim(&b, &eq);
	cfg_trim(&vb, &e);
	memcpy(key, b, (size_t)(eq - b));
	key[eq - b] = '\0';
	memcpy(val, vb, (size_t)(e - vb));
	val[e - vb] = '\0';
	for (k = 0; k < TFS_CFG_NKEYS; k++)
		if (!strcmp(key, cfg_keys[k].name))
			break;
	if (k == TFS_CFG_NKEYS) {
		cfg_err(err, errlen, "unknown key '%s'", key);
		return -EINVAL;
	}
	if (!val[0]) {
		cfg->set &= ~TFS_CFG_BIT(k);
		cfg->v[k] = cfg_keys[k].def;
		if (cfg_keys[k].kind == CFG_SEP)
			cfg->key_sep[0] = '\0';
		return 0;
	}
	if (cfg_keys[k].kind == CFG_SEP
		    ? cfg_sep_parse(val, cfg->key_sep, err, errlen)
		    : cfg_value(k, val, &cfg->v[k], err, errlen))
		return -EINVAL;
	cfg->set |= TFS_CFG_BIT(k);
	return 0;
}

int tfs_config_parse(struct tfs_config *cfg, const char *text, size_t len,
		     char *err, size_t errlen)
{
	struct tfs_config c = *cfg;
	const char *p = text, *end = text + len;

	if (memchr(text, '\0', len)) {
		cfg_err(err, errlen, "a NUL byte in the config text");
		return -EINVAL;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;

		if (e - p > CFG_LINE_MAX) {
			cfg_err(err, errlen, "a line longer than %d bytes",
				CFG_LINE_MAX);
			return -EINVAL;
		}
		if (cfg_line(&c, p, e, err, errlen))
			return -EINVAL;
		p = nl ? nl + 1 : end;
	}
	*cfg = c;
	return 0;
}

void tfs_config_merge(struct tfs_config *out, const struct tfs_config *def,
		      const struct tfs_config *over)
{
	for (unsigned k = 0; k < TFS_CFG_NKEYS; k++)
		out->v[k] = over->set & TFS_CFG_BIT(k) ? over->v[k] : def->v[k];
	/* memmove: out may be def or over */
	memmove(out->key_sep,
		over->set & TFS_CFG_BIT(TFS_CFG_KEY_SEPARATOR) ? over->key_sep
							       : def->key_sep,
		sizeof(out->key_sep));
	out->set = over->set;
}

int tfs_config_value(const struct tfs_config *cfg, unsigned k, char *buf,
		     size_t size)
{
	int64_t v;

	if (k >= TFS_CFG_NKEYS)
		return -EINVAL;
	v = cfg->v[k];
	if (cfg_keys[k].kind == CFG_SEP)
		return cfg_sep_format(cfg->key_sep, buf, size);
	if (cfg_keys[k].kind == CFG_ENUM)
		return snprintf(buf, size, "%s",
				v >= 0 && v <= 1 ? cfg_compression[v] : "?");
	return snprintf(buf, size, "%lld", (long long)v);
}

size_t tfs_config_format(const struct tfs_config *cfg, bool mark_defaults,
			 char *buf, size_t size)
{
	size_t n = 0;
	char val[64];

	for (unsigned k = 0; k < TFS_CFG_NKEYS; k++) {
		bool own = cfg->set & TFS_CFG_BIT(k);
		int w;

		if (!own && !mark_defaults)
			continue;
		tfs_config_value(cfg, k, val, sizeof(val));
		w = snprintf(buf + (n < size ? n : size),
			     n < size ? size - n : 0, "%s=%s%s\n",
			     cfg_keys[k].name, val, own ? "" : "  # default");
		n += (size_t)w;
	}
	return n;
}

bool config_valid(const struct tfs_config *cfg)
{
	if (!memchr(cfg->key_sep, '\0', sizeof(cfg->key_sep)))
		return false;
	for (unsigned k = 0; k < TFS_CFG_NKEYS; k++)
		if (cfg->v[k] < cfg_keys[k].min || cfg->v[k] > cfg_keys[k].max)
			return false;
	return true;
}

void tfs_store_opts_init(struct tfs_store_opts *opts)
{
	tfs_config_init(&opts->cfg);
	opts->log = NULL;
	opts->grew = NULL;
	opts->refused = NULL;
}
