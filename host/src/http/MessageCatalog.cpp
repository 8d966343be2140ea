#include "http/MessageCatalog.h"

namespace identity::host
{

MessageCatalog::MessageCatalog()
{
    add("invalid_argument", "Invalid argument", "参数错误");
    add("malformed_json", "The request body is not a JSON object", "请求体不是合法的 JSON 对象");
    add("malformed_request", "The request's body framing is invalid", "请求体格式无效");
    add("malformed_head", "The request could not be read as HTTP/1.1", "无法按 HTTP/1.1 解析该请求");
    add("header_too_large", "The request head is too large", "请求头过大");
    add("request_timeout", "The request did not arrive in time", "请求未能及时送达");
    add("too_many_connections", "Too many connections from this address, please retry later",
        "来自该地址的连接过多,请稍后再试");
    add("overloaded", "The server is busy, please retry later", "服务器繁忙,请稍后再试");
    add("invalid_client_id", "Unknown client_id", "未知的 client_id");
    add("missing_login", "Provide exactly one of username, email or phone_number, and password",
        "请提供 username、email 或 phone_number 之一,以及 password");
    add("invalid_grant_type", "grant_type must be refresh_token", "grant_type 必须为 refresh_token");
    add("sudo_method", "Provide exactly one of password or verification_code",
        "请提供 password 或 verification_code 其中之一");
    add("missing_new_password", "new_password is required", "缺少 new_password");
    add("invalid_verification_code", "The verification code is invalid or has expired", "验证码错误或已过期");
    add("weak_password",
        "The password must be 8 to 64 characters with upper- and lower-case letters, a digit and a symbol",
        "密码须为 8 到 64 个字符,且包含大写字母、小写字母、数字和符号");
    add("unauthenticated", "Missing, invalid or expired access token", "访问令牌缺失、无效或已过期");
    add("invalid_refresh_token", "Invalid or expired refresh token", "刷新令牌无效或已过期");
    add("invalid_password", "Incorrect password", "密码错误");
    add("invalid_credentials", "Incorrect username or password", "用户名或密码错误");
    add("permission_denied", "Permission denied", "权限不足");
    add("invalid_sudo_token", "Missing, invalid or expired sudo token", "sudo 令牌缺失、无效或已过期");
    add("not_found", "Not found", "资源不存在");
    add("method_not_allowed", "Method not allowed", "不支持该请求方法");
    add("failed_precondition", "Failed precondition", "前置条件不满足");
    add("payload_too_large", "The request body is too large", "请求体过大");
    add("unsupported_media_type", "The request body must be application/json or text/plain",
        "请求体须为 application/json 或 text/plain");
    add("resource_exhausted", "Too many requests, please retry later", "请求过于频繁,请稍后再试");
    add("internal", "Internal error", "服务内部错误");
    add("unavailable", "The service is unavailable", "服务不可用");
    add("storage_unavailable", "The service is temporarily unavailable, please retry", "服务暂时不可用,请稍后重试");
    add("plugin_reload_failed", "The new plugin build was not loaded; the previous one keeps serving",
        "新的插件构建未能加载,原版本继续服务");
    add("verifier_unavailable", "Verification by code is not available", "验证码校验服务不可用");
}

void MessageCatalog::add(const std::string& key, const std::string& english, const std::string& chinese)
{
    _host[key] = {english, chinese};
}

void MessageCatalog::publishPluginMessages(std::shared_ptr<const Messages> messages)
{
    std::atomic_store(&_plugins, std::move(messages));
}

std::string MessageCatalog::text(const std::string& key, const std::string& locale) const
{
    auto it = _host.find(key);
    if (it == _host.end())
    {
        const std::shared_ptr<const Messages> plugins = std::atomic_load(&_plugins);
        if (!plugins || (it = plugins->find(key)) == plugins->end())
            return key;
    }
    return locale == "zh" ? it->second.second : it->second.first;
}

} // namespace identity::host
