/* Chopin: the whole public API. */
#ifndef CHOPIN_CHOPIN_H
#define CHOPIN_CHOPIN_H

#include "app.h"
#include "arena.h"
#include "buf.h"
#include "config.h"
#include "error.h"
#include "http.h"
#include "json.h"
#include "method.h"
#include "middleware.h"
#include "request.h"
#include "respond.h"
#include "router.h"
#include "str.h"
#include "url.h"

#endif
