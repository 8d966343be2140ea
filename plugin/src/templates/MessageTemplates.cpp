#include "templates/MessageTemplates.h"

#include <Poco/FileStream.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>

namespace identity::reauth
{

namespace
{
std::string fill(std::string text, const std::string& product, const std::string& code, int minutes)
{
    Poco::replaceInPlace(text, std::string("{product}"), product);
    Poco::replaceInPlace(text, std::string("{code}"), code);
    Poco::replaceInPlace(text, std::string("{minutes}"), std::to_string(minutes));
    return text;
}

std::string escapeHtml(const std::string& text)
{
    std::string out;
    for (char c : text)
    {
        switch (c)
        {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        default: out += c;
        }
    }
    return out;
}

using Texts = MessageTemplates::Texts;

const Texts english = {
    "Your {product} verification code",
    "Your verification code is:\n\n{code}\n\nIt expires in {minutes} minutes. Enter it to confirm a sensitive change "
    "to your account.\n\nIf you did not ask for it, ignore this message and consider changing your password. "
    "{product} will never ask you for this code.\n",
    "<p>Your verification code is:</p><p style=\"font-size:24px;font-weight:bold;letter-spacing:4px\">{code}</p>"
    "<p>It expires in {minutes} minutes. Enter it to confirm a sensitive change to your account.</p>"
    "<p>If you did not ask for it, ignore this message and consider changing your password. "
    "{product} will never ask you for this code.</p>",
    "[{product}] Your verification code is {code}. It expires in {minutes} minutes. Do not share it."};

const Texts chinese = {
    "您的{product}验证码",
    "您的验证码是:\n\n{code}\n\n{minutes} 分钟内有效,用于确认您账号的敏感操作。\n\n如非本人操作,请忽略本邮件并考虑修改密码。"
    "{product}不会向您索要此验证码。\n",
    "<p>您的验证码是:</p><p style=\"font-size:24px;font-weight:bold;letter-spacing:4px\">{code}</p>"
    "<p>{minutes} 分钟内有效,用于确认您账号的敏感操作。</p>"
    "<p>如非本人操作,请忽略本邮件并考虑修改密码。{product}不会向您索要此验证码。</p>",
    "【{product}】您的验证码是 {code},{minutes} 分钟内有效,请勿泄露。"};

/// The account notices: subject, text, HTML; `{product}` only. No code, no link, nothing to act on
/// but the advice: a notice that asks for nothing cannot be turned into phishing.
struct Notice
{
    const char* subject;
    const char* text;
    const char* html;
};

const std::map<std::string, std::map<std::string, Notice>> notices = {
    {"password_changed",
     {{"en",
       {"Your {product} password was changed",
        "The password of your {product} account was just changed, and every other session of the account "
        "was signed out.\n\nIf you made this change, you need do nothing.\n\nIf you did not, someone else "
        "has access to your account: contact support at once to recover it.\n",
        "<p>The password of your {product} account was just changed, and every other session of the account "
        "was signed out.</p><p>If you made this change, you need do nothing.</p>"
        "<p>If you did not, someone else has access to your account: contact support at once to recover "
        "it.</p>"}},
      {"zh",
       {"您的{product}密码已修改",
        "您的{product}账号密码刚刚被修改,该账号的其他登录会话均已退出。\n\n如是本人操作,无需处理。\n\n"
        "如非本人操作,说明他人已能访问您的账号:请立即联系客服找回账号。\n",
        "<p>您的{product}账号密码刚刚被修改,该账号的其他登录会话均已退出。</p><p>如是本人操作,无需处理。</p>"
        "<p>如非本人操作,说明他人已能访问您的账号:请立即联系客服找回账号。</p>"}}}},
    {"account_deleted",
     {{"en",
       {"Your {product} account was deleted",
        "Your {product} account was just deleted, with its sessions and data.\n\nIf you, or an administrator "
        "at your request, deleted it, you need do nothing; this is the last message we send to this address about it.\n\nIf you did not, "
        "contact support at once.\n",
        "<p>Your {product} account was just deleted, with its sessions and data.</p><p>If you, or an "
        "administrator at your request, deleted it, you need do nothing; this is the last message we send to this address about it.</p><p>If you did not, "
        "contact support at once.</p>"}},
      {"zh",
       {"您的{product}账号已注销",
        "您的{product}账号及其登录会话和数据已被删除。\n\n如是本人操作,无需处理;这是我们就此账号发往本邮箱的最后一封邮件。"
        "\n\n如非本人操作,请立即联系客服。\n",
        "<p>您的{product}账号及其登录会话和数据已被删除。</p>"
        "<p>如是本人操作,无需处理;这是我们就此账号发往本邮箱的最后一封邮件。</p><p>如非本人操作,请立即联系客服。</p>"}}}}};

std::string readTemplate(const std::string& path)
{
    Poco::FileInputStream in(path);
    std::string text;
    Poco::StreamCopier::copyToString(in, text);
    return text;
}
} // namespace

MessageTemplates::MessageTemplates(std::string productName)
    : _productName(std::move(productName)), _texts{{"en", english}, {"zh", chinese}}
{
}

MessageTemplates::MessageTemplates(std::string productName, const Poco::Util::AbstractConfiguration& config)
    : MessageTemplates(std::move(productName))
{
    for (auto& [locale, texts] : _texts)
    {
        const std::string email = "templates.email." + locale + ".";
        for (auto [part, target] : {std::pair<const char*, std::string*>{"subject", &texts.subject},
                                    {"text", &texts.text}, {"html", &texts.html}})
        {
            const std::string file = config.getString(email + part, "");
            if (!file.empty())
                *target = readTemplate(file);
        }
        const std::string sms = config.getString("templates.sms." + locale, "");
        if (!sms.empty())
            texts.sms = readTemplate(sms);
        if (texts.text.find("{code}") == std::string::npos || texts.sms.find("{code}") == std::string::npos)
            throw Poco::DataException("a '" + locale + "' template has no {code} placeholder");
    }
}

sdk::Message MessageTemplates::render(const std::string& channel, const std::string& locale, const std::string& code,
                                      int minutes) const
{
    const Texts& texts = _texts.at(locale == "zh" ? "zh" : "en");
    sdk::Message message;
    message.channel = channel;
    message.locale = locale == "zh" ? "zh" : "en";
    if (channel == "sms")
    {
        message.text = fill(texts.sms, _productName, code, minutes);
        return message;
    }
    message.subject = fill(texts.subject, _productName, code, minutes);
    message.text = fill(texts.text, _productName, code, minutes);
    message.html = "<!DOCTYPE html><html><body>" + fill(texts.html, escapeHtml(_productName), code, minutes) +
                   "</body></html>";
    return message;
}

std::optional<sdk::Message> MessageTemplates::renderNotice(const std::string& kind, const std::string& locale) const
{
    const auto texts = notices.find(kind);
    if (texts == notices.end())
        return std::nullopt;
    const std::string language = locale == "zh" ? "zh" : "en";
    const Notice& notice = texts->second.at(language);
    sdk::Message message;
    message.channel = "email";
    message.locale = language;
    message.subject = fill(notice.subject, _productName, "", 0);
    message.text = fill(notice.text, _productName, "", 0);
    message.html = "<!DOCTYPE html><html><body>" + fill(notice.html, escapeHtml(_productName), "", 0) + "</body></html>";
    return message;
}

} // namespace identity::reauth
