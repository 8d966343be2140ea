#pragma once

/// Marks a type or function as part of the SDK's binary interface.
///
/// The SDK is one shared library (libidentity-sdk.so) that the host and every plugin link to, so the
/// vtables and type information of the interfaces below exist exactly once in a process. That keeps
/// `dynamic_cast`, exception matching and Poco's manifest check working across plugin boundaries even
/// though plugins are built with hidden visibility.
#define IDENTITY_SDK_API __attribute__((visibility("default")))
