/*
 * store.c - the feature cache: one SQLite file, dir/cache.sqlite, shared by
 * every git-dedup run in a repository, possibly several at once.
 *
 * Assumes the system SQLite (>= 3.16 for table-valued pragmas, built
 * thread-safe, which is the default) on a local POSIX file system where WAL
 * shared memory and fcntl locks work.  It is a cache: whenever anything about
 * the file cannot be trusted, we move it aside and start over rather than fail
 * the commit hook.
 *
 * Damage is found three ways.  On open we look only at what SQLite must read
 * anyway (header, schema page, our application_id and user_version); we do
 * NOT run PRAGMA quick_check, because it reads every page and the hook would
 * pay O(cache size) on every commit.  Pages damaged later are reported by
 * SQLite as SQLITE_CORRUPT when touched, and we rebuild then.  Bit flips
 * that still parse are caught by the per-row checksum, and the row is dropped.
 */
#include "dedup/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>
#include <xxhash.h>

/* "GDDP" marks the file as ours; SCHEMA_VERSION as the layout below. */
#define STORE_APPLICATION_ID 0x47444450
#define STORE_SCHEMA_VERSION 2
#define STORE_BUSY_TIMEOUT_MS 15000
#define STORE_FILE "cache.sqlite"
/* Serialises moving a damaged file aside between processes (see move_aside). */
#define STORE_LOCK_FILE "cache.lock"
/* Bounds how often one open retries after moving a file aside. */
#define STORE_MAX_REBUILDS 4

#define HASH_BYTES 16
#define PDQ_BYTES (DEDUP_XFORM_COUNT * DEDUP_PDQ_WORDS * 8)
#define CHECKSUM_BYTES 8
/* byte_hash, has_pixel, pixel_hash, width, height, quality, pdq, version key */
#define PAYLOAD_BYTES (HASH_BYTES + 1 + HASH_BYTES + 3 * 4 + PDQ_BYTES + 8)
/* Room for the default version text: "features N; " and the decoders'. */
#define VERSION_MAX (DEDUP_DECODE_VERSION_MAX + 64)

static const char SCHEMA_SQL[] = "CREATE TABLE features ("
                                 " content_id TEXT NOT NULL,"
                                 " feature_version INTEGER NOT NULL,"
                                 " byte_hash BLOB NOT NULL,"
                                 " pixel_hash BLOB,"
                                 " width INTEGER NOT NULL,"
                                 " height INTEGER NOT NULL,"
                                 " quality INTEGER NOT NULL,"
                                 " pdq BLOB NOT NULL,"
                                 " checksum BLOB NOT NULL,"
                                 " local BLOB NOT NULL,"
                                 " PRIMARY KEY (content_id, feature_version)"
                                 ") WITHOUT ROWID";

static const char GET_SQL[] =
    "SELECT byte_hash, pixel_hash, width, height, quality, pdq, checksum, local"
    " FROM features WHERE content_id = ?1 AND feature_version = ?2";
static const char PUT_SQL[] =
    "INSERT OR REPLACE INTO features (content_id, feature_version, byte_hash, pixel_hash,"
    " width, height, quality, pdq, checksum, local)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
/* Matching the checksum too means we never drop a good row that another
 * process wrote between our read and our delete. */
static const char DEL_SQL[] =
    "DELETE FROM features WHERE content_id = ?1 AND feature_version = ?2 AND checksum IS ?3";
/* One statement, so the three facts come from the same snapshot. */
static const char INSPECT_SQL[] = "SELECT (SELECT application_id FROM pragma_application_id),"
                                  " (SELECT user_version FROM pragma_user_version),"
                                  " (SELECT count(*) FROM sqlite_master)";

struct dedup_store {
    sqlite3 *db;
    /* What the rows' features depend on (see store.h), and the 63-bit hash
     * of it that fills the feature_version column: the schema stays as it
     * was, and a different decoder or feature version simply never finds
     * the rows written by this one. */
    char *version;
    sqlite3_int64 version_key;
    sqlite3_stmt *get_stmt, *put_stmt, *del_stmt;
    char *dir;
    char *path;
    /* Identity of the file we opened, so we never move aside a file that
     * another process has already replaced with a fresh cache. */
    int have_ident;
    dev_t dev;
    ino_t ino;
    char notice[DEDUP_ERROR_MSG_MAX];
};

/* Outcome of trying to attach to the file currently at s->path. */
enum { ATTACH_OK = 0, ATTACH_DAMAGED = 1 };

static int is_damage_code(int rc)
{
    int primary = rc & 0xff;
    return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB || primary == SQLITE_FORMAT;
}

static int status_of(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return DEDUP_ENOMEM;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
        return DEDUP_ECORRUPT;
    default:
        return DEDUP_EIO;
    }
}

static int sql_error(dedup_store *s, int rc, const char *what, dedup_error *err)
{
    const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    return dedup_error_set(err, status_of(rc), "%s: %s: %s", s->path, what, msg);
}

/* Describe a damage code for the notice in words a user can act on. */
static void describe_damage(char *why, size_t cap, int rc, sqlite3 *db)
{
    if ((rc & 0xff) == SQLITE_NOTADB)
        snprintf(why, cap, "not a SQLite database");
    else
        snprintf(why, cap, "corrupt: %s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static char *join(const char *a, const char *sep, const char *b)
{
    size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
    char *out = malloc(la + ls + lb + 1);
    if (out) {
        memcpy(out, a, la);
        memcpy(out + la, sep, ls);
        memcpy(out + la + ls, b, lb + 1);
    }
    return out;
}

/* ---- serialisation: explicit little-endian so the file moves between hosts ---- */

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_hash(uint8_t *p, const dedup_hash128 *h)
{
    put_u64(p, h->lo);
    put_u64(p + 8, h->hi);
}

static void get_hash(dedup_hash128 *h, const uint8_t *p)
{
    h->lo = get_u64(p);
    h->hi = get_u64(p + 8);
}

static void put_pdq(uint8_t *p, const dedup_pdq *pdq)
{
    for (int t = 0; t < DEDUP_XFORM_COUNT; t++)
        for (int w = 0; w < DEDUP_PDQ_WORDS; w++)
            put_u64(p + 8 * (t * DEDUP_PDQ_WORDS + w), pdq->variants[t].w[w]);
}

static void get_pdq(dedup_pdq *pdq, const uint8_t *p)
{
    for (int t = 0; t < DEDUP_XFORM_COUNT; t++)
        for (int w = 0; w < DEDUP_PDQ_WORDS; w++)
            pdq->variants[t].w[w] = get_u64(p + 8 * (t * DEDUP_PDQ_WORDS + w));
}

/*
 * The checksum covers every value as we would store it plus the key, so a
 * row copied under another id or version fails too.  Hashing content_id with
 * the payload hash as seed avoids a variable-length buffer.
 */
/* The local-features blob carries its own checksum; chaining it in here
 * also ties it to this row, so blobs cannot be swapped between rows. */
static void row_checksum(uint8_t out[CHECKSUM_BYTES], const char *content_id,
                         sqlite3_int64 version_key, const dedup_features *f, const uint8_t *local,
                         size_t local_len)
{
    uint8_t buf[PAYLOAD_BYTES];
    uint8_t *p = buf;
    dedup_hash128 none = {0, 0};
    put_hash(p, &f->byte_hash);
    p += HASH_BYTES;
    *p++ = f->has_pixel_hash ? 1 : 0;
    put_hash(p, f->has_pixel_hash ? &f->pixel_hash : &none);
    p += HASH_BYTES;
    put_u32(p, (uint32_t)f->width);
    put_u32(p + 4, (uint32_t)f->height);
    put_u32(p + 8, (uint32_t)f->pdq.quality);
    p += 12;
    put_pdq(p, &f->pdq);
    p += PDQ_BYTES;
    put_u64(p, (uint64_t)version_key);
    XXH64_hash_t seed = XXH3_64bits(buf, sizeof(buf));
    seed = XXH3_64bits_withSeed(local, local_len, seed);
    put_u64(out, XXH3_64bits_withSeed(content_id, strlen(content_id), seed));
}

/* ---- opening ---- */

static void detach(dedup_store *s)
{
    sqlite3_finalize(s->get_stmt);
    sqlite3_finalize(s->put_stmt);
    sqlite3_finalize(s->del_stmt);
    s->get_stmt = s->put_stmt = s->del_stmt = NULL;
    if (s->db)
        sqlite3_close(s->db);
    s->db = NULL;
}

static int make_dir(const char *dir, dedup_error *err)
{
    if (mkdir(dir, 0777) == 0)
        return 0;
    int saved = errno;
    struct stat st;
    if (saved == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    if (saved == EEXIST)
        return dedup_error_set(err, DEDUP_EIO, "%s: cannot create cache directory: %s", dir,
                               "exists and is not a directory");
    return dedup_error_set(err, DEDUP_EIO, "%s: cannot create cache directory: %s", dir,
                           strerror(saved));
}

/*
 * Switch to WAL.  That needs an exclusive lock, and when another connection
 * holds a shared one SQLite answers SQLITE_BUSY at once, without calling the
 * busy handler (waiting there could deadlock two upgrading connections).
 * Hooks that open a new cache together race exactly here, so retry for as
 * long as the busy timeout would have waited.  Once the file is in WAL mode
 * the switch is a no-op that takes no such lock.
 */
static int set_wal(sqlite3 *db)
{
    int waited_ms = 0;
    for (;;) {
        const int rc = sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
        if ((rc & 0xff) != SQLITE_BUSY || waited_ms >= STORE_BUSY_TIMEOUT_MS)
            return rc;
        const struct timespec pause = {0, 5 * 1000 * 1000};
        nanosleep(&pause, NULL);
        waited_ms += 5;
    }
}

/* Reads application_id, user_version and the number of schema objects. */
static int inspect(sqlite3 *db, long long *app_id, long long *version, long long *objects)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, INSPECT_SQL, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *app_id = sqlite3_column_int64(st, 0);
            *version = sqlite3_column_int64(st, 1);
            *objects = sqlite3_column_int64(st, 2);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* Why a file with these header values is not (yet) our cache, or "" if it is ours. */
static void classify(char *why, size_t cap, long long app_id, long long version)
{
    why[0] = '\0';
    if (app_id == 0)
        snprintf(why, cap, "a SQLite database not made by git-dedup");
    else if (app_id != STORE_APPLICATION_ID)
        snprintf(why, cap, "application_id 0x%08llx belongs to another program",
                 (unsigned long long)app_id & 0xffffffffULL);
    else if (version != STORE_SCHEMA_VERSION)
        snprintf(why, cap, "schema version %lld, this git-dedup knows only %d", version,
                 STORE_SCHEMA_VERSION);
}

/*
 * Create the schema in an empty database.  The emptiness check is repeated
 * under the write lock because two hooks may both find the file empty.
 */
static int create_schema(dedup_store *s, char *why, size_t cap, dedup_error *err)
{
    int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    long long app_id, version, objects;
    rc = inspect(s->db, &app_id, &version, &objects);
    if (rc != SQLITE_OK)
        goto fail;
    if (app_id == 0 && version == 0 && objects == 0) {
        char pragmas[128];
        snprintf(pragmas, sizeof(pragmas), "PRAGMA application_id = %d; PRAGMA user_version = %d",
                 STORE_APPLICATION_ID, STORE_SCHEMA_VERSION);
        rc = sqlite3_exec(s->db, SCHEMA_SQL, NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(s->db, pragmas, NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            goto fail;
    } else {
        classify(why, cap, app_id, version);
        if (why[0]) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return ATTACH_DAMAGED;
        }
    }
    rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        return ATTACH_OK;
fail:;
    /* Keep the message: ROLLBACK would overwrite it. */
    char msg[256];
    snprintf(msg, sizeof(msg), "%s", sqlite3_errmsg(s->db));
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    if ((rc & 0xff) == SQLITE_NOTADB) {
        snprintf(why, cap, "not a SQLite database");
        return ATTACH_DAMAGED;
    }
    if (is_damage_code(rc)) {
        snprintf(why, cap, "corrupt: %s", msg);
        return ATTACH_DAMAGED;
    }
    return dedup_error_set(err, status_of(rc), "%s: cannot initialise cache: %s", s->path, msg);
}

/*
 * Prepare the kept statements; this is also our schema check, since a
 * missing table or column fails here.  ATTACH_OK, ATTACH_DAMAGED with `why`,
 * or a negative status.
 */
static int prepare_statements(dedup_store *s, char *why, size_t cap, dedup_error *err)
{
    int rc = sqlite3_prepare_v2(s->db, GET_SQL, -1, &s->get_stmt, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(s->db, PUT_SQL, -1, &s->put_stmt, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(s->db, DEL_SQL, -1, &s->del_stmt, NULL);
    if (rc == SQLITE_OK)
        return ATTACH_OK;
    if ((rc & 0xff) == SQLITE_ERROR) {
        snprintf(why, cap, "schema does not match: %s", sqlite3_errmsg(s->db));
        return ATTACH_DAMAGED;
    }
    if (is_damage_code(rc)) {
        describe_damage(why, cap, rc, s->db);
        return ATTACH_DAMAGED;
    }
    return sql_error(s, rc, "cannot prepare cache statements", err);
}

/*
 * Open whatever is at s->path.  Returns ATTACH_OK with s->db ready,
 * ATTACH_DAMAGED with s->db closed and `why` filled, or a negative status.
 */
static int attach(dedup_store *s, char *why, size_t cap, dedup_error *err)
{
    int rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (!s->db)
        return dedup_error_set(err, DEDUP_ENOMEM, "%s: out of memory opening cache", s->path);
    if (rc != SQLITE_OK)
        goto fail;
    /* SQLite has opened the file by now, so this is the inode we examine. */
    struct stat st;
    s->have_ident = stat(s->path, &st) == 0;
    if (s->have_ident) {
        s->dev = st.st_dev;
        s->ino = st.st_ino;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);

    /* Judge the file before writing anything (the WAL switch writes the
     * header), so a file we reject is moved aside exactly as we found it. */
    long long app_id = 0, version = 0, objects = 0;
    rc = inspect(s->db, &app_id, &version, &objects);
    if (rc != SQLITE_OK)
        goto fail;
    int fresh = app_id == 0 && version == 0 && objects == 0;
    int status;
    if (!fresh) {
        classify(why, cap, app_id, version);
        if (why[0]) {
            detach(s);
            return ATTACH_DAMAGED;
        }
        status = prepare_statements(s, why, cap, err);
        if (status != ATTACH_OK)
            goto out;
    }
    rc = set_wal(s->db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    if (fresh) {
        status = create_schema(s, why, cap, err);
        if (status == ATTACH_OK)
            status = prepare_statements(s, why, cap, err);
        if (status != ATTACH_OK)
            goto out;
    }
    return ATTACH_OK;
fail:
    if (is_damage_code(rc)) {
        describe_damage(why, cap, rc, s->db);
        status = ATTACH_DAMAGED;
    } else {
        status = sql_error(s, rc, "cannot open cache", err);
    }
out:
    detach(s);
    return status;
}

static int path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 || errno != ENOENT;
}

static const char *const SIDE_FILES[] = {"-wal", "-shm", "-journal"};
#define N_SIDE_FILES (sizeof(SIDE_FILES) / sizeof(SIDE_FILES[0]))

/*
 * Rename s->path (and its -wal/-shm/-journal, which SQLite would otherwise
 * replay into the fresh file) to cache.sqlite.corrupt-<n>.  Runs under an
 * fcntl lock so two hooks that find the same damage do not both move things:
 * the second sees the file is no longer the inode it examined and leaves the
 * replacement alone.  Returns 1 if moved, 0 if someone else already had.
 */
static int move_aside(dedup_store *s, const char *why, dedup_error *err)
{
    char *lock_path = join(s->dir, "/", STORE_LOCK_FILE);
    size_t cap = strlen(s->path) + 64;
    char *dest = malloc(cap), *src_side = malloc(cap), *dest_side = malloc(cap);
    int status = 0, fd = -1;
    if (!lock_path || !dest || !src_side || !dest_side) {
        status = dedup_error_set(err, DEDUP_ENOMEM, "%s: out of memory", s->path);
        goto out;
    }
    fd = open(lock_path, O_RDWR | O_CREAT, 0666);
    if (fd < 0) {
        status = dedup_error_set(err, DEDUP_EIO, "%s: cannot create lock file: %s", lock_path,
                                 strerror(errno));
        goto out;
    }
    struct flock lk = {0};
    lk.l_type = F_WRLCK;
    lk.l_whence = SEEK_SET;
    while (fcntl(fd, F_SETLKW, &lk) != 0) {
        if (errno != EINTR) {
            status =
                dedup_error_set(err, DEDUP_EIO, "%s: cannot lock: %s", lock_path, strerror(errno));
            goto out;
        }
    }
    struct stat st;
    if (lstat(s->path, &st) != 0 || (s->have_ident && (st.st_dev != s->dev || st.st_ino != s->ino)))
        goto out; /* already moved (and maybe replaced) by another run */

    unsigned n;
    for (n = 1; n < 100000; n++) {
        snprintf(dest, cap, "%s.corrupt-%u", s->path, n);
        int taken = path_exists(dest);
        for (size_t i = 0; i < N_SIDE_FILES && !taken; i++) {
            snprintf(dest_side, cap, "%s%s", dest, SIDE_FILES[i]);
            taken = path_exists(dest_side);
        }
        if (!taken)
            break;
    }
    if (n == 100000) {
        status =
            dedup_error_set(err, DEDUP_EIO, "%s: no free name to move damaged cache to", s->path);
        goto out;
    }
    if (rename(s->path, dest) != 0) {
        status = dedup_error_set(err, DEDUP_EIO,
                                 "%s: cache is damaged (%s) and cannot be moved "
                                 "aside to %s: %s",
                                 s->path, why, dest, strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < N_SIDE_FILES; i++) {
        snprintf(src_side, cap, "%s%s", s->path, SIDE_FILES[i]);
        snprintf(dest_side, cap, "%s%s", dest, SIDE_FILES[i]);
        if (rename(src_side, dest_side) != 0 && errno != ENOENT) {
            /* A leftover journal must not meet the fresh file: delete it. */
            if (unlink(src_side) != 0 && errno != ENOENT) {
                status = dedup_error_set(err, DEDUP_EIO, "%s: cannot move or remove: %s", src_side,
                                         strerror(errno));
                goto out;
            }
        }
    }
    snprintf(s->notice, sizeof(s->notice),
             "%s: cache file was unusable (%s); moved it to %s and started a fresh cache", s->path,
             why, dest);
    status = 1;
out:
    if (fd >= 0)
        close(fd); /* releases the lock */
    free(lock_path);
    free(dest);
    free(src_side);
    free(dest_side);
    return status;
}

/* Attach, moving damaged files aside until we hold a good cache. */
static int attach_or_rebuild(dedup_store *s, dedup_error *err)
{
    char why[512];
    for (int attempt = 0; attempt < STORE_MAX_REBUILDS; attempt++) {
        why[0] = '\0';
        int status = attach(s, why, sizeof(why), err);
        if (status != ATTACH_DAMAGED)
            return status;
        status = move_aside(s, why, err);
        if (status < 0)
            return status;
    }
    return dedup_error_set(err, DEDUP_ECORRUPT, "%s: cache is still damaged after %d rebuilds",
                           s->path, STORE_MAX_REBUILDS);
}

/*
 * SQLite reported damage while in use (a page went bad after open): move
 * the file aside and continue on a fresh one.  A batch in progress is lost,
 * which for a cache only means recomputing; we reopen the transaction so the
 * caller's begin/commit pairing still holds.
 */
static int rebuild_in_use(dedup_store *s, int rc, dedup_error *err)
{
    char why[512];
    describe_damage(why, sizeof(why), rc, s->db);
    int in_txn = s->db && !sqlite3_get_autocommit(s->db);
    detach(s);
    int status = move_aside(s, why, err);
    if (status < 0)
        return status;
    status = attach_or_rebuild(s, err);
    if (status < 0)
        return status;
    if (in_txn) {
        rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            return sql_error(s, rc, "cannot begin transaction", err);
    }
    return 0;
}

int dedup_store_open(dedup_store **out, const char *dir, dedup_error *err)
{
    char version[VERSION_MAX], decoders[DEDUP_DECODE_VERSION_MAX];
    int status = dedup_decode_version(decoders, sizeof(decoders), err);
    if (status < 0)
        return status;
    int n = snprintf(version, sizeof(version), "features %d; local %d; %s", DEDUP_FEATURE_VERSION,
                     DEDUP_LOCAL_VERSION, decoders);
    if (n < 0 || (size_t)n >= sizeof(version))
        return dedup_error_set(err, DEDUP_ETOOBIG, "cache version text is too long");
    return dedup_store_open_versioned(out, dir, version, err);
}

int dedup_store_open_versioned(dedup_store **out, const char *dir, const char *version,
                               dedup_error *err)
{
    if (!out || !dir || !*dir)
        return dedup_error_set(err, DEDUP_EINVAL, "dedup_store_open: no directory given");
    if (!version || !*version)
        return dedup_error_set(err, DEDUP_EINVAL, "dedup_store_open: no version given");
    *out = NULL;
    int status = make_dir(dir, err);
    if (status < 0)
        return status;
    dedup_store *s = calloc(1, sizeof(*s));
    if (!s)
        return dedup_error_set(err, DEDUP_ENOMEM, "%s: out of memory", dir);
    s->dir = join(dir, "", "");
    s->path = join(dir, "/", STORE_FILE);
    s->version = join(version, "", "");
    /* Non-negative, so it reads the same as an SQLite INTEGER anywhere. */
    s->version_key = (sqlite3_int64)(XXH3_64bits(version, strlen(version)) >> 1);
    if (!s->dir || !s->path || !s->version) {
        dedup_store_close(s);
        return dedup_error_set(err, DEDUP_ENOMEM, "%s: out of memory", dir);
    }
    status = attach_or_rebuild(s, err);
    if (status < 0) {
        dedup_store_close(s);
        return status;
    }
    *out = s;
    return 0;
}

void dedup_store_close(dedup_store *store)
{
    if (!store)
        return;
    detach(store); /* closing rolls back an unfinished batch */
    free(store->dir);
    free(store->path);
    free(store->version);
    free(store);
}

const char *dedup_store_version(const dedup_store *store)
{
    return store ? store->version : NULL;
}

const char *dedup_store_notice(const dedup_store *store)
{
    return store && store->notice[0] ? store->notice : NULL;
}

/* ---- rows ---- */

/* After a failed rebuild the store has no database; refuse rather than crash. */
static int check_open(dedup_store *store, const char *fn, dedup_error *err)
{
    if (!store)
        return dedup_error_set(err, DEDUP_EINVAL, "%s: no store", fn);
    if (!store->db)
        return dedup_error_set(err, DEDUP_EIO, "%s: cache is not open (an earlier rebuild failed)",
                               store->path);
    return 0;
}

static int int_column(sqlite3_stmt *st, int col, int *out)
{
    if (sqlite3_column_type(st, col) != SQLITE_INTEGER)
        return 0;
    sqlite3_int64 v = sqlite3_column_int64(st, col);
    if (v < INT32_MIN || v > INT32_MAX)
        return 0;
    *out = (int)v;
    return 1;
}

static const uint8_t *blob_column(sqlite3_stmt *st, int col, int len)
{
    if (sqlite3_column_type(st, col) != SQLITE_BLOB || sqlite3_column_bytes(st, col) != len)
        return NULL;
    return sqlite3_column_blob(st, col);
}

/* Decode the current row of get_stmt; 1 if every value is well-formed and
 * the checksum matches. */
static int decode_row(sqlite3_stmt *st, const char *content_id, sqlite3_int64 version_key,
                      dedup_features *f)
{
    memset(f, 0, sizeof(*f));
    const uint8_t *p = blob_column(st, 0, HASH_BYTES);
    if (!p)
        return 0;
    get_hash(&f->byte_hash, p);
    if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
        p = blob_column(st, 1, HASH_BYTES);
        if (!p)
            return 0;
        get_hash(&f->pixel_hash, p);
        f->has_pixel_hash = 1;
    }
    if (!int_column(st, 2, &f->width) || !int_column(st, 3, &f->height) ||
        !int_column(st, 4, &f->pdq.quality))
        return 0;
    p = blob_column(st, 5, PDQ_BYTES);
    if (!p)
        return 0;
    get_pdq(&f->pdq, p);
    if (sqlite3_column_type(st, 7) != SQLITE_BLOB)
        return 0;
    const uint8_t *local = sqlite3_column_blob(st, 7);
    size_t local_len = (size_t)sqlite3_column_bytes(st, 7);
    dedup_error ignored;
    if (!local || dedup_local_parse(&f->local, local, local_len, &ignored) != 0)
        return 0;
    const uint8_t *stored = blob_column(st, 6, CHECKSUM_BYTES);
    uint8_t want[CHECKSUM_BYTES];
    row_checksum(want, content_id, version_key, f, local, local_len);
    return stored && memcmp(stored, want, CHECKSUM_BYTES) == 0;
}

int dedup_store_get(dedup_store *store, const char *content_id, dedup_features *out, int *found,
                    dedup_error *err)
{
    if (!content_id || !out || !found)
        return dedup_error_set(err, DEDUP_EINVAL, "dedup_store_get: missing argument");
    *found = 0;
    int status = check_open(store, "dedup_store_get", err);
    if (status < 0)
        return status;
    sqlite3_stmt *st = store->get_stmt;
    sqlite3_bind_text(st, 1, content_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, store->version_key);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (decode_row(st, content_id, store->version_key, out)) {
            *found = 1;
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return 0;
        }
        /* Untrustworthy row: forget it.  Failing to delete is harmless (the
         * next put replaces it), so only damage to the file itself matters. */
        sqlite3_stmt *del = store->del_stmt;
        sqlite3_bind_text(del, 1, content_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(del, 2, store->version_key);
        sqlite3_bind_value(del, 3, sqlite3_column_value(st, 6));
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        rc = sqlite3_step(del);
        sqlite3_reset(del);
        sqlite3_clear_bindings(del);
        memset(out, 0, sizeof(*out));
        if (is_damage_code(rc))
            return rebuild_in_use(store, rc, err);
        return 0;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    memset(out, 0, sizeof(*out));
    if (rc == SQLITE_DONE)
        return 0;
    if (is_damage_code(rc))
        return rebuild_in_use(store, rc, err);
    return sql_error(store, rc, "cannot read cache", err);
}

static int bind_row(sqlite3_stmt *st, const char *content_id, sqlite3_int64 version_key,
                    const dedup_features *f, uint8_t local[DEDUP_LOCAL_BLOB_MAX])
{
    uint8_t byte_hash[HASH_BYTES], pixel_hash[HASH_BYTES], pdq[PDQ_BYTES], sum[CHECKSUM_BYTES];
    size_t local_len = 0;
    dedup_error ignored;
    if (dedup_local_serialize(local, DEDUP_LOCAL_BLOB_MAX, &local_len, &f->local, &ignored) != 0)
        return SQLITE_MISUSE; /* features that were never computed are not cached */
    put_hash(byte_hash, &f->byte_hash);
    put_hash(pixel_hash, &f->pixel_hash);
    put_pdq(pdq, &f->pdq);
    row_checksum(sum, content_id, version_key, f, local, local_len);
    int rc = sqlite3_bind_text(st, 1, content_id, -1, SQLITE_TRANSIENT);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, version_key);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 3, byte_hash, HASH_BYTES, SQLITE_TRANSIENT);
    if (rc == SQLITE_OK)
        rc = f->has_pixel_hash ? sqlite3_bind_blob(st, 4, pixel_hash, HASH_BYTES, SQLITE_TRANSIENT)
                               : sqlite3_bind_null(st, 4);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 5, f->width);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 6, f->height);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 7, f->pdq.quality);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 8, pdq, PDQ_BYTES, SQLITE_TRANSIENT);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 9, sum, CHECKSUM_BYTES, SQLITE_TRANSIENT);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 10, local, (int)local_len, SQLITE_STATIC);
    return rc;
}

int dedup_store_put(dedup_store *store, const char *content_id, const dedup_features *features,
                    dedup_error *err)
{
    if (!content_id || !features)
        return dedup_error_set(err, DEDUP_EINVAL, "dedup_store_put: missing argument");
    int status = check_open(store, "dedup_store_put", err);
    if (status < 0)
        return status;
    /* One retry: after a rebuild the fresh file takes the row. */
    for (int attempt = 0;; attempt++) {
        sqlite3_stmt *st = store->put_stmt;
        uint8_t local[DEDUP_LOCAL_BLOB_MAX];
        int rc = bind_row(st, content_id, store->version_key, features, local);
        if (rc == SQLITE_MISUSE) {
            sqlite3_clear_bindings(st);
            return dedup_error_set(err, DEDUP_EINVAL,
                                   "%s: cannot cache %s: its local features "
                                   "are not valid",
                                   store->path, content_id);
        }
        if (rc == SQLITE_OK)
            rc = sqlite3_step(st);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        if (rc == SQLITE_DONE)
            return 0;
        if (!is_damage_code(rc) || attempt > 0)
            return sql_error(store, rc, "cannot write cache", err);
        status = rebuild_in_use(store, rc, err);
        if (status < 0)
            return status;
    }
}

int dedup_store_begin(dedup_store *store, dedup_error *err)
{
    int status = check_open(store, "dedup_store_begin", err);
    if (status < 0)
        return status;
    if (!sqlite3_get_autocommit(store->db))
        return dedup_error_set(err, DEDUP_EINVAL, "%s: a batch is already open", store->path);
    /* IMMEDIATE takes the write lock now, so a concurrent run waits here
     * (busy timeout) instead of failing later on a lock upgrade. */
    int rc = sqlite3_exec(store->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        return 0;
    if (is_damage_code(rc))
        return rebuild_in_use(store, rc, err);
    return sql_error(store, rc, "cannot begin transaction", err);
}

int dedup_store_commit(dedup_store *store, dedup_error *err)
{
    int status = check_open(store, "dedup_store_commit", err);
    if (status < 0)
        return status;
    if (sqlite3_get_autocommit(store->db))
        return dedup_error_set(err, DEDUP_EINVAL, "%s: commit without begin", store->path);
    int rc = sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        return 0;
    if (is_damage_code(rc)) {
        status = rebuild_in_use(store, rc, err);
        if (status < 0)
            return status;
        /* The batch went with the damaged file; close the reopened one. */
        rc = sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL);
        return rc == SQLITE_OK ? 0 : sql_error(store, rc, "cannot commit", err);
    }
    status = sql_error(store, rc, "cannot commit", err);
    /* Leave the connection usable for the next batch. */
    if (!sqlite3_get_autocommit(store->db))
        sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
    return status;
}
