/* The documentation page's UI (swagger-ui-dist from the npm registry), embedded at build time by
 * mk/docs.mk: each file becomes a NUL-terminated byte array and its length. The files are empty
 * when npm was not available, and the page then says the UI was not built. Only programs that
 * call ch_app_docs() link this object. */
#define BLOB(name, file)                                                                           \
    .section .rodata, "a";                                                                         \
    .globl name;                                                                                   \
    .balign 16;                                                                                    \
    name:                                                                                          \
    .incbin file;                                                                                  \
    name##_end:                                                                                    \
    .byte 0;                                                                                       \
    .globl name##_len;                                                                             \
    .balign 8;                                                                                     \
    name##_len:                                                                                    \
    .quad name##_end - name

/* The paths come from mk/docs.mk (the assembler does not join adjacent strings). */
BLOB(ch__docs_ui_js, CH_DOCS_UI_JS)
BLOB(ch__docs_ui_css, CH_DOCS_UI_CSS)
BLOB(ch__docs_ui_license, CH_DOCS_UI_LICENSE)

    .section .note.GNU-stack, "", @progbits
