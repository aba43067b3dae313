/* Debian's libxnnpack-dev includes <pthreadpool.h> but libpthreadpool-dev may be missing. The
 * benchmarks pass no thread pool (single thread), so the opaque handle type is all they need. */
#pragma once
typedef struct pthreadpool* pthreadpool_t;
