/* The dashboard's files (relayer/web/), embedded at build time by
 * relayer/web/embed.cmake into web_assets.c in the build directory. */
#ifndef BH_WEB_ASSETS_H
#define BH_WEB_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *path; /* URL path: "/index.html", "/app.js", ... */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
} bh_web_asset;

extern const bh_web_asset bh_web_assets[];
extern const size_t bh_web_n_assets;

#endif
