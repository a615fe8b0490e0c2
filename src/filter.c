/* filter.c -- who a published event is for (see filter.h). */
#include "autoconf.h"

#include <string.h>

#include "filter.h"

bool filter_matches(const struct filter *f, enum conn_type type, const char *name)
{
    if (!f)
        return true;
    if (f->type >= 0 && (int)type != f->type)
        return false;
    if (f->user && (type != CONN_ADMIN || strcmp(name, f->user) != 0))
        return false;
    if (f->display && (type != CONN_DISPLAY || strcmp(name, f->display) != 0))
        return false;
    return true;
}
