/* The example notes API, written only against Chopin's public API. */
#ifndef CHOPIN_APP_NOTES_H
#define CHOPIN_APP_NOTES_H

#include <chopin/chopin.h>

/* Registers GET/POST /api/notes and GET/PUT/PATCH/DELETE /api/notes/:id on `app`, with the
 * migration ("notes" set) creating their table and their statements. The notes live in the
 * app's database (ch_app_use_database()), shared by all workers and instances. 0 or a CH_E*
 * code. */
int notes_register(struct ch_app *app);

#endif
