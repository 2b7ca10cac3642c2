/*
 * _vcfscan_columns.h: the checks of one VCF data line (part of _vcfscan.c, which includes it once, after
 * the Scanner, its emit functions and the duplicate window): one function per column, CHROM to the
 * samples, called in column order by scan_line.
 */
#ifndef GENOMICS_VCFSCAN_COLUMNS_H
#define GENOMICS_VCFSCAN_COLUMNS_H

/* ---------------------------------------------------------------- one data line */
#define EMIT(...)                                  \
    do {                                           \
        if (emit(s, __VA_ARGS__) < 0) return -1;   \
    } while (0)
#define EMIT_TIER(...)                                 \
    do {                                               \
        if (emit_tier(s, __VA_ARGS__) < 0) return -1;  \
    } while (0)

/* One data line split into its columns, and what the columns checked so far established for the later
 * ones. Each column has its check_* function below (called in column order by scan_line); each returns
 * -1 on a Python/memory error and 0 otherwise, having emitted the column's issues. */
typedef struct {
    char *col[9];  /* CHROM..FORMAT starts */
    size_t cl[9];  /* and lengths */
    int ncols;     /* columns found, at most 9 */
    char *samples; /* the first sample column, NULL when there is none */
    char *end;     /* end of the line (empty trailing columns excluded) */
    char *chrom;   /* CHROM without the <> of a symbolic name */
    size_t chl;
    long long pos; /* -1 when POS is invalid */
    int n_alt;     /* ALT alleles listed */
    int alt_ok;    /* ALT is listed and valid: allele-dependent counts and GT indexes can be checked */
    const Def *fdefs[64]; /* FORMAT keys' definitions */
    int nf, gt_idx, fmt_ok;
} Line;

/* Tabs: the columns, and the column count against the #CHROM line. 1 when the line has too few columns
   to check anything further (reported), 0 to go on. */
static inline int split_columns(Scanner *s, Line *ln, char *p, size_t len) {
    char *end = p + len;
    char *q = p;
    ln->ncols = 0;
    ln->samples = NULL;
    while (ln->ncols < 9) {
        char *t = split_next(q, end, '\t');
        ln->col[ln->ncols] = q;
        ln->cl[ln->ncols] = (size_t)(t - q);
        ln->ncols++;
        if (t == end) break;
        q = t + 1;
        if (ln->ncols == 9) ln->samples = q;
    }
    long long total = ln->ncols;
    if (ln->samples) {
        total = 10;
        for (char *r = ln->samples; (r = memchr(r, '\t', (size_t)(end - r))) != NULL; r++) total++;
    }
    if (total != s->n_columns) {
        /* surplus columns that are all empty (tabs at the end of the line): htslib ignores them */
        long long surplus = total - s->n_columns;
        int trailing = surplus > 0 && surplus < (long long)len;
        for (long long k = 1; trailing && k <= surplus; k++)
            if (end[-k] != '\t') trailing = 0;
        if (trailing) {
            end -= surplus;
            EMIT_TIER(C_COLUMNS, 'S', "record ends with %lld tab(s): %lld empty column(s) beyond the %d the #CHROM "
                      "line declares", surplus, surplus, s->n_columns);
        } else {
            EMIT(C_COLUMNS, "record has %lld tab-separated columns but the #CHROM line declares %d", total,
                 s->n_columns);
            if (total < 8) return 1;
        }
    }
    ln->end = end;
    return 0;
}

/* A CHROM seen for the first time since the previous record's: contiguity, declaration, the contig's
   length, and the duplicate window restarts. */
static inline int enter_contig(Scanner *s, const char *chrom, size_t chl) {
    if (table_get(&s->contigs_seen, chrom, chl)) {
        EMIT_TIER(C_NOT_CONTIGUOUS, s->minor < 3 ? 'W' : 'S', "records of contig '%s' are not contiguous: it appeared before another "
                               "contig; sort the file (bcftools sort)", SHOW(chrom, chl));
    } else {
        if (!table_put(&s->contigs_seen, chrom, chl, 0, 0, 0)) return -1;
        PyObject *name = PyUnicode_DecodeUTF8(chrom, (Py_ssize_t)chl, "replace");
        if (!name || PyList_Append(s->contigs, name) < 0) {
            Py_XDECREF(name);
            return -1;
        }
        Py_DECREF(name);
        if (!table_get(&s->contigs_decl, chrom, chl)) {
            if (s->contigs_declared)
                EMIT(C_CONTIG_UNDECLARED, "CHROM '%s' is not declared by a ##contig line; add "
                                          "##contig=<ID=%s,length=...>", SHOW(chrom, chl), s->shbuf);
            else
                EMIT(C_CONTIG_NOT_DECLARED_WARN, "CHROM '%s' has no ##contig header line", SHOW(chrom, chl));
        }
    }
    if (chl + 1 > s->prev_chrom_cap) {
        char *nc = (char *)PyMem_Realloc(s->prev_chrom, chl + 1);
        if (!nc) return -1;
        s->prev_chrom = nc;
        s->prev_chrom_cap = chl + 1;
    }
    memcpy(s->prev_chrom, chrom, chl);
    s->prev_chrom_len = chl;
    s->prev_pos = -1;
    const Def *decl = table_get(&s->contigs_decl, chrom, chl);
    s->cur_len = decl ? decl->number : -1;
    dup_purge(s, 0, 1);
    return 0;
}

/* CHROM; a symbolic <ID> names the same contig as ID */
static inline int check_chrom(Scanner *s, Line *ln) {
    char *chrom = ln->col[0];
    size_t chl = ln->cl[0];
    /* ':' and '*' are legal in declared contig names (e.g. GRCh38's HLA-A*01:01:01:01) */
    if (!chrom_ok(chrom, chl) && !(chl && !has_space(chrom, chl) && table_get(&s->contigs_decl, chrom, chl))) {
        /* htslib declares an undeclared contig of any printable name without ',<>"' (processing adds the
           ##contig line); an empty name, whitespace or those characters break the record */
        EMIT_TIER(C_CHROM, chrom_breaks(chrom, chl) ? 'E' : 'S',
                  "CHROM '%s' is empty or contains a character not allowed in contig names "
                      "(whitespace, ':', ',', '<', '>', '*', quotes, brackets)", SHOW(chrom, chl));
    } else if (chrom[0] == '<') {
        chrom++;
        chl -= 2;
    }
    ln->chrom = chrom;
    ln->chl = chl;
    int new_chrom = !(s->prev_chrom && s->prev_chrom_len == chl && memcmp(s->prev_chrom, chrom, chl) == 0);
    return new_chrom ? enter_contig(s, chrom, chl) : 0;
}

/* POS: a non-negative integer; sorted within the contig, inside the contig's declared length */
static inline int check_pos(Scanner *s, Line *ln) {
    long long pos = -1;
    char **col = ln->col;
    if (ln->ncols < 2 || check_int(col[1], ln->cl[1], &pos) || pos < 0 || col[1][0] == '-' || col[1][0] == '+') {
        EMIT(C_POS, "POS '%s' is not a non-negative integer below 2^31", ln->ncols < 2 ? "" : SHOW(col[1], ln->cl[1]));
        pos = -1;
    } else {
        if (pos < s->prev_pos)
            EMIT(C_UNSORTED, "POS %lld comes after POS %lld on contig '%s'; sort the file (bcftools sort)", pos,
                 s->prev_pos, SHOW(ln->chrom, ln->chl));
        s->prev_pos = pos;
        dup_purge(s, pos, 0);
        if (s->cur_len >= 0 && pos > s->cur_len + 1)
            EMIT(C_POS_BEYOND, "POS %lld is beyond the end of contig '%s' (length %lld in its ##contig line); "
                               "check the reference build", pos, SHOW(ln->chrom, ln->chl), s->cur_len);
    }
    ln->pos = pos;
    return 0;
}

/* column k is the missing value '.' */
static inline int missing(const Line *ln, int k) { return ln->cl[k] == 1 && ln->col[k][0] == '.'; }

/* ID: '.', or ';'-separated identifiers without whitespace, empty entries or repeats */
static inline int check_id(Scanner *s, const Line *ln) {
    if (missing(ln, 2)) return 0;
    char *id = ln->col[2], *e = id + ln->cl[2];
    size_t il = ln->cl[2];
    int bad = has_space(id, il);
    int nids = 0;
    const char *ids[64];
    size_t idl[64];
    for (char *a = id; !bad && a <= e;) {
        char *b = split_next(a, e, ';');
        size_t n = (size_t)(b - a);
        if (n == 0 || (n == 1 && a[0] == '.')) bad = 1;
        for (int k = 0; !bad && k < nids; k++)
            if (idl[k] == n && memcmp(ids[k], a, n) == 0) bad = 2;
        if (nids < 64) {
            ids[nids] = a;
            idl[nids] = n;
            nids++;
        }
        a = b + 1;
    }
    if (bad)
        /* a repeated identifier is forbidden from VCF 4.3 ("duplicate values not allowed") */
        EMIT_TIER(C_ID, bad == 2 && s->minor < 3 ? 'W' : 'S', "ID '%s' %s", SHOW(id, il),
             bad == 2 ? "lists the same identifier twice" : "has whitespace or an empty ';'-separated entry");
    return 0;
}

/* REF: bases */
static inline int check_ref(Scanner *s, const Line *ln) {
    const char *ref = ln->col[3];
    size_t rl = ln->cl[3];
    if (!all_bases(ref, rl))
        EMIT_TIER(C_REF, ref_letters(ref, rl) ? 'S' : 'E', "REF '%s' must be one or more of A,C,G,T,N",
                  SHOW(ref, rl));
    return 0;
}

/* The base alleles of a valid ALT against the earlier records at this position, after normalisation. */
static inline int check_duplicate(Scanner *s, const Line *ln) {
    const char *ref = ln->col[3];
    size_t rl = ln->cl[3];
    char *e = ln->col[4] + ln->cl[4];
    int dup_seen = 0;
    for (char *a = ln->col[4]; a <= e;) {
        char *b = split_next(a, e, ',');
        size_t al = (size_t)(b - a);
        if (all_bases(a, al)) {
            int d = 0;
            if (dup_check(s, ln->pos, ref, rl, a, al, &d) < 0) return -1;
            if (d && !dup_seen) {
                dup_seen = 1;
                EMIT(C_DUPLICATE, "variant at %s:%lld (ALT '%.*s') duplicates an earlier record after "
                                  "normalisation; merge or remove it", SHOW(ln->chrom, ln->chl), ln->pos,
                     (int)(al < 40 ? al : 40), a);
            }
        }
        a = b + 1;
    }
    return 0;
}

/* ALT: '.', or ','-separated alleles (bases, '*', <ID>, breakends); then the duplicate check */
static inline int check_alt(Scanner *s, Line *ln) {
    ln->n_alt = 0;
    ln->alt_ok = 1;
    if (missing(ln, 4)) {
        ln->alt_ok = 0; /* no ALT listed: allele-dependent counts and GT indexes cannot be checked */
        return 0;
    }
    char *e = ln->col[4] + ln->cl[4];
    for (char *a = ln->col[4]; a <= e;) {
        char *b = split_next(a, e, ',');
        ln->n_alt++;
        if (check_allele(a, (size_t)(b - a))) {
            ln->alt_ok = 0;
            /* htslib keeps any other text as an allele (old 'X', 'A/T' notations); an empty one breaks */
            EMIT_TIER(C_ALT, b == a ? 'E' : 'S', "ALT allele '%s' is not bases, '*', a symbolic <ID> or a "
                      "breakend", SHOW(a, (size_t)(b - a)));
            break;
        }
        a = b + 1;
    }
    if (ln->alt_ok && ln->pos >= 0 && all_bases(ln->col[3], ln->cl[3])) return check_duplicate(s, ln);
    return 0;
}

/* QUAL: '.' or a non-negative number */
static inline int check_qual(Scanner *s, const Line *ln) {
    if (missing(ln, 5)) return 0;
    const char *qual = ln->col[5];
    size_t ql = ln->cl[5];
    /* htslib reads a QUAL that is not a number as 0: the value would come out wrong */
    if (check_float(qual, ql))
        EMIT_TIER(C_QUAL, 'E', "QUAL '%s' must be '.' or a non-negative number", SHOW(qual, ql));
    else if (qual[0] == '-')
        EMIT(C_QUAL, "QUAL '%s' must be '.' or a non-negative number", SHOW(qual, ql));
    return 0;
}

/* FILTER: PASS, '.', or ';'-separated names (declared, or declarable by htslib) */
static inline int check_filter(Scanner *s, const Line *ln) {
    if (missing(ln, 6)) return 0;
    char *filter = ln->col[6], *e = filter + ln->cl[6];
    size_t fl = ln->cl[6];
    int bad = has_space(filter, fl) ? 3 : 0;
    for (char *a = filter; !bad && a <= e;) {
        char *b = split_next(a, e, ';');
        size_t n = (size_t)(b - a);
        if (n == 0 || (n == 1 && a[0] == '.')) {
            bad = 1;
            break;
        }
        if (n == 1 && a[0] == '0') {
            bad = 2; /* reserved: "must not" be used from VCF 4.3, "should not" before */
            break;
        }
        if (!(n == 4 && memcmp(a, "PASS", 4) == 0) && !table_get(&s->filt, a, n)) {
            if (chrom_breaks(a, n)) {
                bad = 4; /* htslib cannot add a ##FILTER line for this name: the record breaks */
                break;
            }
            if (!table_put(&s->filt, a, n, 0, 0, 0)) return -1;
            EMIT(C_FILTER_UNDECLARED, "FILTER '%s' is not declared by a ##FILTER line; add "
                                          "##FILTER=<ID=...,Description=\"...\">", SHOW(a, n));
        }
        a = b + 1;
    }
    if (bad)
        EMIT_TIER(C_FILTER_INVALID, bad >= 3 ? 'E' : bad == 2 && s->minor < 3 ? 'W' : 'S',
                  "FILTER '%s' must be PASS, '.', or ';'-separated declared filter names (no whitespace, empty "
                  "names, '.' or '0' in a list, no ',<>\" in an undeclared name)", SHOW(filter, fl));
    return 0;
}

/* What check_values found wrong (its result r, 1..4) with the values of key `d` in `where` ("INFO" or
   "sample N"): the type (code `type_code` in `type_tier`), the integer range, the sign, or the count
   (code `number_code`; `got` values where `exp` are required). */
static int emit_value_issue(Scanner *s, int r, const char *where, const Def *d, const char *bv, size_t bl,
                            long long got, long long exp, int type_code, char type_tier, int number_code) {
    switch (r) {
    case 1:
        return emit_tier(s, type_code, type_tier, "%s %s value '%s' is not of Type %s", where, d->key, SHOW(bv, bl),
                         TYPE_NAMES[d->type]);
    case 2:
        return emit(s, C_INT_RANGE, "%s %s value '%s' is outside the 32-bit range [-2147483640, 2147483647]", where,
                    d->key, SHOW(bv, bl));
    case 3:
        return emit(s, C_NEGATIVE, "%s %s value '%s' must not be negative", where, d->key, SHOW(bv, bl));
    case 4:
        return emit(s, number_code, "%s %s has %lld values but its Number requires %lld", where, d->key, got, exp);
    default:
        return 0;
    }
}

/* The value of one INFO key `d` (after its '=', up to b): type, range, sign and count */
static inline int check_info_value(Scanner *s, const Line *ln, const Def *d, const char *eq, const char *b) {
    long long got = 0;
    const char *bv = NULL;
    size_t bl = 0;
    long long exp = (d->number == N_G || !ln->alt_ok) && d->number < 0 ? -1 : expected_count(d, ln->n_alt, 0);
    if (d->type == T_STR && eq[1] == '"') exp = -1; /* quoted free text may hold commas */
    int r = check_values(d, eq + 1, (size_t)(b - eq - 1), exp, &got, &bv, &bl);
    if (r == 4 && d->number < 0 && got < exp) {
        r = 0;
        EMIT(C_INFO_SHORT, "INFO %s has %lld values, fewer than the %lld its Number requires", d->key, got, exp);
    }
    return emit_value_issue(s, r, "INFO", d, bv, bl, got, exp, C_INFO_TYPE, CODE_SEV[C_INFO_TYPE], C_INFO_NUMBER);
}

/* One INFO entry [a, b): the key (valid, declared, not repeated in the record: `nk` keys so far), a
   flag's absent value, or the values */
static inline int check_info_entry(Scanner *s, const Line *ln, char *a, char *b, int *nk) {
    size_t n = (size_t)(b - a);
    char *eq = memchr(a, '=', n);
    size_t kl = eq ? (size_t)(eq - a) : n;
    if (n == 0) {
        EMIT(C_INFO, "INFO has an empty ';'-separated entry");
        return 0;
    }
    if (!key_ok(a, kl) && !(s->minor < 3 && legacy_key_ok(a, kl) && table_get(&s->info, a, kl))) {
        /* htslib reads a declared key of any name (GATK's 1000GAF); it cannot add a header line
           for an undeclared invalid one, and the record breaks */
        EMIT_TIER(C_INFO_KEY, table_get(&s->info, a, kl) ? 'S' : 'E',
                  "INFO key '%s' is not a valid key ([A-Za-z_][0-9A-Za-z_.]*)", SHOW(a, kl));
        return 0;
    }
    const Def *d = table_get(&s->info, a, kl);
    if (!d) {
        d = table_put(&s->info, a, kl, N_VAR, T_ANY, 0);
        if (!d) return -1;
        EMIT(C_INFO_UNDECLARED, "INFO key '%s' is not declared by an ##INFO line", SHOW(a, kl));
    }
    for (int k = 0; k < *nk; k++)
        if (s->rec_keys[k] == d) {
            EMIT(C_INFO_DUP, "INFO key '%s' appears twice in one record", SHOW(a, kl));
            break;
        }
    if (*nk < 256) s->rec_keys[(*nk)++] = d;
    if (d->type == T_FLAG) {
        size_t vl = eq ? (size_t)(b - eq - 1) : 0;
        if (eq && vl == 1 && (eq[1] == '0' || eq[1] == '1'))
            EMIT(C_FLAG_01, "INFO flag '%s' written with =%c; write the bare key", SHOW(a, kl), eq[1]);
        else if (eq)
            EMIT(C_INFO_FLAG, "INFO flag '%s' must not have a value", SHOW(a, kl));
    } else if (d->type != T_ANY) {
        if (!eq)
            EMIT(C_INFO_NUMBER, "INFO key '%s' (Type=%s) has no value", SHOW(a, kl), TYPE_NAMES[d->type]);
        else
            return check_info_value(s, ln, d, eq, b);
    }
    return 0;
}

/* INFO: '.', or ';'-separated entries */
static inline int check_info(Scanner *s, const Line *ln) {
    if (missing(ln, 7)) return 0;
    char *info = ln->col[7], *e = info + ln->cl[7];
    size_t il = ln->cl[7];
    if (s->minor < 3 && has_space(info, il))
        EMIT(C_INFO, "INFO '%s' contains whitespace (allowed only from VCF 4.3)", SHOW(info, il));
    int nk = 0;
    for (char *a = info; a <= e;) {
        char *b = split_next(a, e, ';');
        if (check_info_entry(s, ln, a, b, &nk) < 0) return -1;
        a = b + 1;
    }
    return 0;
}

/* FORMAT: ':'-separated keys (valid, declared, not repeated; GT first); their definitions go to ln */
static inline int check_format(Scanner *s, Line *ln) {
    ln->nf = 0;
    ln->gt_idx = -1;
    ln->fmt_ok = 1;
    char *e = ln->col[8] + ln->cl[8];
    for (char *a = ln->col[8]; a <= e;) {
        char *b = split_next(a, e, ':');
        size_t n = (size_t)(b - a);
        if ((!key_ok(a, n) && !(s->minor < 3 && legacy_key_ok(a, n) && table_get(&s->fmt, a, n))) ||
            (n == 5 && memcmp(a, "1000G", 5) == 0)) {
            /* htslib reads a declared key of any name; an empty or undeclared invalid one breaks the record */
            EMIT_TIER(C_FORMAT, n && table_get(&s->fmt, a, n) ? 'S' : 'E',
                      "FORMAT key '%s' is empty or not a valid key ([A-Za-z_][0-9A-Za-z_.]*)", SHOW(a, n));
            ln->fmt_ok = 0;
            break;
        }
        const Def *d = table_get(&s->fmt, a, n);
        if (!d) {
            d = table_put(&s->fmt, a, n, N_VAR, T_ANY, 0);
            if (!d) return -1;
            EMIT(C_FORMAT_UNDECLARED, "FORMAT key '%s' is not declared by a ##FORMAT line", SHOW(a, n));
        }
        for (int k = 0; k < ln->nf; k++)
            if (ln->fdefs[k] == d) {
                EMIT(C_FORMAT, "FORMAT key '%s' appears twice", SHOW(a, n));
                ln->fmt_ok = 0;
            }
        if (n == 2 && a[0] == 'G' && a[1] == 'T') {
            if (ln->nf != 0) EMIT(C_GT_FIRST, "GT must be the first FORMAT key");
            ln->gt_idx = ln->nf;
        }
        if (ln->nf < 64) ln->fdefs[ln->nf++] = d;
        else ln->fmt_ok = 0;
        a = b + 1;
    }
    return 0;
}

/* Sample `si`'s GT value [v, v+n): allele indexes or '.' joined by '/' or '|'; *ploidy gets its count */
static inline int check_gt(Scanner *s, const Line *ln, int si, const char *v, size_t n, int *ploidy) {
    /* [/|]? allele ([/|] allele)* ; allele = . or integer */
    size_t i = 0;
    int bad = 0, range = 0;
    if (n == 1 && v[0] == '.') {
        *ploidy = 1;
    } else {
        /* a leading phasing separator (explicit phasing of the first allele) exists from VCF 4.4;
           htslib 1.16 cannot read it before */
        if (i < n && (v[i] == '/' || v[i] == '|')) {
            if (s->minor < 4) bad = 1;
            i++;
        }
        for (;;) {
            if (i < n && v[i] == '.') {
                i++;
            } else if (i < n && v[i] >= '0' && v[i] <= '9') {
                long long x = 0;
                while (i < n && v[i] >= '0' && v[i] <= '9') {
                    if (x < 1000000000LL) x = x * 10 + (v[i] - '0');
                    i++;
                }
                if (x > ln->n_alt) range = 1;
            } else {
                bad = 1;
                break;
            }
            (*ploidy)++;
            if (i == n) break;
            if (v[i] == '/' || v[i] == '|') i++;
            else {
                bad = 1;
                break;
            }
        }
    }
    if (bad) EMIT(C_GT, "sample %d GT '%s' is not a genotype (allele indexes or '.' joined by / or |)",
                  si, SHOW(v, n));
    else if (range && ln->alt_ok)
        EMIT(C_GT_RANGE, "sample %d GT '%s' refers to an allele beyond the %d ALT allele(s)", si,
             SHOW(v, n), ln->n_alt);
    return 0;
}

/* Sample `si`'s value [v, v+n) of the FORMAT key `d` (not GT): type, range, sign and count */
static inline int check_sample_value(Scanner *s, const Line *ln, int si, const Def *d, const char *v, size_t n,
                                     int ploidy) {
    long long got = 0;
    const char *bv = NULL;
    size_t bl = 0;
    char where[32];
    if (d->type != T_ANY && d->type != T_STR) {
        long long exp = ln->alt_ok ? expected_count(d, ln->n_alt, ln->gt_idx >= 0 ? ploidy : 0) : -1;
        if (d->number == N_G && ln->gt_idx < 0 && ln->alt_ok) exp = -1;
        int r = check_values(d, v, n, exp, &got, &bv, &bl);
        if (r == 4 && d->number == N_G && ln->gt_idx < 0) r = 0;
        if (!r) return 0;
        /* htslib fails on a declared Integer/Float FORMAT value that is not one; an undeclared
           (reserved) key or a Character it reads as text, an empty value as missing */
        char tier = (d->flags & F_IMPLIED) || !(d->type == T_INT || d->type == T_FLOAT) || bl == 0 ? 'S' : 'E';
        snprintf(where, sizeof where, "sample %d", si);
        return emit_value_issue(s, r, where, d, bv, bl, got, exp, C_SAMPLE_TYPE, tier, C_SAMPLE_NUMBER);
    }
    if (d->type == T_STR && d->number >= 1 && ln->alt_ok) {
        int r = check_values(d, v, n, d->number, &got, &bv, &bl);
        if (r != 4) return 0;
        snprintf(where, sizeof where, "sample %d", si);
        return emit_value_issue(s, r, where, d, bv, bl, got, d->number, C_SAMPLE_TYPE, 'E', C_SAMPLE_NUMBER);
    }
    return 0;
}

/* The sample columns: ':'-separated values, one per FORMAT key */
static inline int check_samples(Scanner *s, const Line *ln) {
    char *a = ln->samples, *end = ln->end;
    int si = 0;
    while (a <= end) {
        char *b = split_next(a, end, '\t');
        si++;
        int fi = 0, ploidy = 0;
        for (char *v = a; v <= b; fi++) {
            char *w = split_next(v, b, ':');
            size_t n = (size_t)(w - v);
            if (fi >= ln->nf) {
                EMIT(C_SAMPLE_FIELDS, "sample %d has more ':'-separated fields than FORMAT has keys (%d)", si, ln->nf);
                break;
            }
            if (fi == ln->gt_idx) {
                if (check_gt(s, ln, si, v, n, &ploidy) < 0) return -1;
            } else if (check_sample_value(s, ln, si, ln->fdefs[fi], v, n, ploidy) < 0) {
                return -1;
            }
            v = w + 1;
        }
        a = b + 1;
    }
    return 0;
}

/* One data line [p, p+len) without its LF: line-level checks, then one check per column in order. */
static int scan_line(Scanner *s, char *p, size_t len) {
    s->records++;
    if (len && p[len - 1] == '\r') {
        len--;
        if (!s->crlf_warned) {
            s->crlf_warned = 1;
            EMIT(C_CRLF, "line ends with CR LF; VCF lines end with LF only (convert with dos2unix)");
        }
    }
    if (len == 0) {
        EMIT(C_EMPTY_LINE, "empty line in the data section; remove it");
        return 0;
    }
    if (p[0] == '#') {
        EMIT(C_HEADER_IN_BODY, "header line after the first data record; move it above #CHROM");
        return 0;
    }
    Line ln;
    int r = split_columns(s, &ln, p, len);
    if (r) return r < 0 ? -1 : 0;
    if (check_chrom(s, &ln) < 0 || check_pos(s, &ln) < 0) return -1;
    if (ln.ncols < 8) return 0;
    if (check_id(s, &ln) < 0 || check_ref(s, &ln) < 0 || check_alt(s, &ln) < 0 || check_qual(s, &ln) < 0 ||
        check_filter(s, &ln) < 0 || check_info(s, &ln) < 0)
        return -1;
    if (ln.ncols < 9 || s->n_columns < 9) return 0;
    if (check_format(s, &ln) < 0) return -1;
    if (!ln.fmt_ok || !ln.samples) return 0;
    return check_samples(s, &ln);
}

#endif
