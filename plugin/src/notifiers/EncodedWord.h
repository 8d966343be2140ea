#pragma once

#include <string>

namespace identity::reauth
{

/// RFC 2047 "B" encoding of a UTF-8 header value. Unlike Poco's MailMessage::encodeWord, it never
/// splits a multi-byte character across encoded words, so Chinese subjects decode intact. ASCII text
/// without control characters is returned as it is; CR and LF are always removed (no header injection).
std::string encodeHeaderWord(const std::string& utf8);

/// RFC 2045 base64 on one line (mail headers, SMTP AUTH).
std::string base64(const std::string& bytes);

} // namespace identity::reauth
