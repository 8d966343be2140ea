#pragma once

/// The SDK's version. A plugin records the version it was compiled against (IDENTITY_PLUGIN exports it
/// as `identityPluginSdkVersion()`); the host refuses a plugin whose major version differs from its own,
/// and one whose minor version is newer than its own (it may call functions the host lacks).
#define IDENTITY_SDK_VERSION_MAJOR 1
#define IDENTITY_SDK_VERSION_MINOR 0

/// (major << 16) | minor, the form `identityPluginSdkVersion()` returns.
#define IDENTITY_SDK_VERSION ((IDENTITY_SDK_VERSION_MAJOR << 16) | IDENTITY_SDK_VERSION_MINOR)

/// Name of the C symbol every plugin library exports with its SDK version.
#define IDENTITY_SDK_VERSION_SYMBOL "identityPluginSdkVersion"

namespace identity::sdk
{

/// The version of the SDK library loaded in this process, in the IDENTITY_SDK_VERSION form.
unsigned __attribute__((visibility("default"))) runtimeVersion();

} // namespace identity::sdk
