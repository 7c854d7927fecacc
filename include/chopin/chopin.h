/* Chopin: the whole public API.
 *
 * Naming rule. What this folder declares is the API: functions ch_<module>_<verb>, types
 * struct ch_<name>, macros and enum constants CH_<NAME>. Everything else lives in src/ and is
 * either static (short, unprefixed names) or shared between the library's files with a double
 * underscore: ch__<name>, struct ch__<name>, CH__<NAME>. A struct declared here but defined in
 * src/ (struct ch_app, struct ch_db...) is opaque; fields starting with '_' in a public struct
 * are private. Nothing outside include/chopin/ is part of the API, and examples/ and the chopin
 * binary (app/) use only what is declared here. */
#ifndef CHOPIN_CHOPIN_H
#define CHOPIN_CHOPIN_H

#include "app.h"
#include "arena.h"
#include "auth.h"
#include "buf.h"
#include "config.h"
#include "db.h"
#include "db_respond.h"
#include "docs.h"
#include "error.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "method.h"
#include "metrics.h"
#include "middleware.h"
#include "openapi.h"
#include "request.h"
#include "respond.h"
#include "router.h"
#include "schema.h"
#include "str.h"
#include "testing.h"
#include "url.h"

#endif
