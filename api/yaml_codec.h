#pragma once
// Manifest reading (api/yaml_reader.h: multi-document YAML or JSON into Boost.JSON values, with
// limits) and YAML/JSON writing (api/yaml_writer.h), for code that does both.

#include "api/yaml_reader.h"  // IWYU pragma: export
#include "api/yaml_writer.h"  // IWYU pragma: export
