#include "ReauthenticatePlugin.h"

#include "ReauthenticateHandler.h"
#include "delivery/OutboxCommands.h"
#include "delivery/DeliveryReportHandler.h"
#include "notifiers/KannelSmsNotifier.h"
#include "notifiers/LogNotifier.h"
#include "notifiers/MaildirNotifier.h"
#include "notifiers/SmtpNotifier.h"
#include "notifiers/WebhookNotifier.h"

#include "identity/sdk/Crypto.h"

#include <algorithm>

using namespace identity;
using namespace identity::reauth;

ReauthenticatePlugin::ReauthenticatePlugin() = default;

ReauthenticatePlugin::~ReauthenticatePlugin() { stop(); }

void ReauthenticatePlugin::start(sdk::PluginContext& context)
{
    _settings = ReauthenticateSettings::read(context.config());

    const std::string pepper = context.secret("pepper");
    // Derived keys: any configured secret of 32+ bytes gives proper, separate AES and HMAC keys.
    const std::string outboxSecret = context.secret("outbox_key");
    const std::string outboxKey = sdk::crypto::hmacSha256(outboxSecret, "reauthenticate outbox v1");
    const std::string reportKey = sdk::crypto::hmacSha256(outboxSecret, "reauthenticate delivery reports v1");

    sdk::NotifierRegistry& notifiers = context.notifiers();
    notifiers.add("maildir", [](const Poco::Util::AbstractConfiguration& config) {
        return std::make_unique<MaildirNotifier>(config);
    });
    notifiers.add("log", [](const Poco::Util::AbstractConfiguration& config) {
        return std::make_unique<LogNotifier>(config);
    });
    notifiers.add("smtp", [](const Poco::Util::AbstractConfiguration& config) {
        return std::make_unique<SmtpNotifier>(config);
    });
    sdk::SecureRandom& random = context.random();
    notifiers.add("kannel", [reportKey, &random](const Poco::Util::AbstractConfiguration& config) {
        return std::make_unique<KannelSmsNotifier>(config, reportKey, random);
    });
    notifiers.add("webhook", [](const Poco::Util::AbstractConfiguration& config) {
        return std::make_unique<WebhookNotifier>(config);
    });
    // A channel whose notifier is "" or "none" is off: its verify_opt answers 503. A type of this
    // plugin must deliver the channel; any other is one another plugin provides (through the registry).
    const std::map<std::string, std::set<std::string>> typesByChannel = {
        {"email", {"maildir", "log", "smtp", "webhook"}}, {"sms", {"log", "kannel", "webhook"}}};
    const std::vector<std::string> ownTypes = notifiers.types();
    std::map<std::string, sdk::NotifierPtr> byChannel;
    std::set<std::string> channels;
    for (const auto& [channel, types] : typesByChannel)
    {
        const std::string type = context.config().getString(channel + ".notifier", "");
        if (type.empty() || type == "none")
            continue;
        const bool own = std::find(ownTypes.begin(), ownTypes.end(), type) != ownTypes.end();
        if (own && !types.count(type))
            throw Poco::InvalidArgumentException(channel + ".notifier: '" + type + "' does not deliver " + channel);
        const Poco::Util::AbstractConfiguration::Ptr section = context.config().createView(channel + "." + type);
        byChannel[channel] = notifiers.create(type, *section);
        channels.insert(channel);
    }

    _outbox = std::make_shared<Outbox>(context.storage());
    _worker = std::make_shared<DeliveryWorker>(context, _settings, _outbox, outboxKey, std::move(byChannel),
                                               MessageTemplates(_settings.productName, context.config()));
    std::weak_ptr<DeliveryWorker> worker = _worker;
    _codes = std::make_shared<CodeService>(context, _settings, _outbox, pepper, outboxKey, [worker] {
        if (auto running = worker.lock())
            running->wake();
    });

    context.addMessage("invalid_verify_opt", "Invalid verification method, please use phone_code or email_code",
                       "验证方式错误,请使用 phone_code 或 email_code");
    context.addMessage("no_bound_email", "No email address is bound to this account", "该账号未绑定邮箱");
    context.addMessage("no_bound_phone", "No phone number is bound to this account", "该账号未绑定手机号");
    context.addMessage("channel_unavailable", "This verification method is not available",
                       "该验证方式暂不可用");
    context.addMessage("malformed_verification_code", "The verification code must be 6 digits",
                       "验证码须为 6 位数字");

    context.addRoute(sdk::Route{"POST", "/auth/v1/user/reauthenticate", sdk::Route::Auth::AccessToken,
                                ReauthenticateHandler(_codes, channels)});
    if (context.config().getString("sms.notifier", "") == "kannel")
        context.addRoute(sdk::Route{"GET", "/hooks/kannel/dlr", sdk::Route::Auth::None,
                                    DeliveryReportHandler(context, _outbox, reportKey)});
    context.provideService(sdk::CodeVerifier::serviceName, _codes);
    context.provideService(std::string(sdk::UserDataOwner::prefix) + "reauthenticate",
                           std::make_shared<ReauthenticationUserData>(_outbox));
    context.provideService(std::string(sdk::AccountEventListener::prefix) + "reauthenticate",
                           std::make_shared<AccountNotices>(_outbox, channels.count("email") > 0, [worker] {
                               if (auto running = worker.lock())
                                   running->wake();
                           }));
    context.provideService(std::string(sdk::AdminCommand::prefix) + "outbox list", std::make_shared<OutboxList>(_outbox));
    context.provideService(std::string(sdk::AdminCommand::prefix) + "outbox retry",
                           std::make_shared<OutboxRetry>(_outbox, context.clock()));
    // Loaded for an operator's command: no delivery from this process.
    if (context.serving())
        _worker->start();
}

void ReauthenticatePlugin::stop()
{
    if (_worker)
        _worker->stop();
    _worker.reset();
    _codes.reset();
    _outbox.reset();
}

IDENTITY_PLUGIN(ReauthenticatePlugin)
