#pragma once

#include "identity/sdk/Notifier.h"

#include <Poco/Util/AbstractConfiguration.h>

#include <map>
#include <optional>
#include <string>

namespace identity::reauth
{

/// The reauthentication messages, in English and Simplified Chinese: an email (subject, plain text and
/// HTML) and an SMS, each with the code, its lifetime in minutes and the product name (placeholders
/// `{code}`, `{minutes}`, `{product}`).
///
/// Operators replace any of them with a UTF-8 file named in the configuration:
/// `templates.email.<en|zh>.subject|text|html` and `templates.sms.<en|zh>`. A text or SMS template
/// without `{code}` is refused at start.
class MessageTemplates
{
public:
    explicit MessageTemplates(std::string productName);
    MessageTemplates(std::string productName, const Poco::Util::AbstractConfiguration& config);

    /// `channel` is "email" or "sms"; `locale` "zh" selects Chinese, anything else English.
    sdk::Message render(const std::string& channel, const std::string& locale, const std::string& code,
                        int minutes) const;

    /// The email notice of an account change (`kind` is "password_changed" or "account_deleted"), in
    /// English or, for `locale` "zh", Chinese: built in, with the product name and no secret. Nothing for
    /// a kind this build does not know (a newer build's).
    std::optional<sdk::Message> renderNotice(const std::string& kind, const std::string& locale) const;

    struct Texts
    {
        std::string subject;
        std::string text;
        std::string html;
        std::string sms;
    };

private:
    std::string _productName;
    std::map<std::string, Texts> _texts; // by locale
};

} // namespace identity::reauth
