#pragma once

#include <Poco/Formatter.h>

#include <string>

namespace identity::host
{

/// One JSON object per line: `{"time","level","logger",…}`. A message that is itself a JSON object
/// (access and audit lines) is merged in; any other text goes, escaped, into "message", so nothing a
/// user sends can start a line of its own.
class JsonLogFormatter : public Poco::Formatter
{
public:
    void format(const Poco::Message& message, std::string& text) override;

    /// The text with every byte that starts no well-formed UTF-8 sequence replaced by U+FFFD.
    static std::string validUtf8(const std::string& text);
};

} // namespace identity::host
