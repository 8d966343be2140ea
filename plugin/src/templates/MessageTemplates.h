#pragma once

#include "identity/sdk/Notifier.h"

#include <string>

namespace identity::reauth
{

/// The reauthentication messages, in English and Simplified Chinese: an email (subject, plain text and
/// HTML) and an SMS, each with the code, its lifetime in minutes and the product name.
class MessageTemplates
{
public:
    explicit MessageTemplates(std::string productName);

    /// `channel` is "email" or "sms"; `locale` "zh" selects Chinese, anything else English.
    sdk::Message render(const std::string& channel, const std::string& locale, const std::string& code,
                        int minutes) const;

private:
    std::string _productName;
};

} // namespace identity::reauth
