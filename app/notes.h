/* The example notes API, written only against Chopin's public API. */
#ifndef CHOPIN_APP_NOTES_H
#define CHOPIN_APP_NOTES_H

#include <chopin/chopin.h>

/* Registers GET/POST /api/notes and GET/PUT/PATCH/DELETE /api/notes/:id on `app`. The notes live
 * in memory, shared by all workers. 0 or a CH_E* code. */
int notes_register(struct ch_app *app);

#endif
