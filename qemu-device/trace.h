#include "trace/trace-hw_ossa.h"
