/**
 * @file core.h  Common includes for the switchboard daemon
 *
 * Every module includes this first: libre needs its HAVE_* defines (set in
 * meson.build) before re.h, and we keep the include order in one place.
 */
#ifndef SWITCH_CORE_H
#define SWITCH_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <re.h>

#include "log.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#endif
