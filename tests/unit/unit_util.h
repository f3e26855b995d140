/**
 * @file unit_util.h  What several unit tests need: a temp folder removed
 *                    with its contents, and SQL through a connection of
 *                    its own (what an operator, or a crash, would see)
 *
 * Include after <cmocka.h>; sql_* also need <sqlite3.h> first.
 */
#ifndef TESTS_UNIT_UTIL_H
#define TESTS_UNIT_UTIL_H

#include <ftw.h>
#include <stdio.h>


static inline int unit_rm_h(const char *path, const struct stat *sb,
			    int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;

	return remove(path);
}


/* Remove dir and everything below it */
static inline void rm_tree(const char *dir)
{
	(void)nftw(dir, unit_rm_h, 8, FTW_DEPTH | FTW_PHYS);
}


#ifdef SQLITE_OK
/* The first column of the first row of sql, or -1 for no row */
static inline int sql_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);

	return v;
}


static inline void sql_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}
#endif

#endif
