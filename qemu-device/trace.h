#include "trace/trace-hw_misc_ossa.h"
