#pragma once

namespace identity::host
{

/// schema/config.schema.json, compiled into the binary so that the host validates its configuration
/// wherever it is installed.
const char* hostConfigSchemaText();

} // namespace identity::host
