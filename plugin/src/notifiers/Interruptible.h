#pragma once

namespace identity::reauth
{

/// A notifier whose send can be cut short from another thread: at shutdown, a provider that accepted
/// the connection and never answers must not keep the delivery worker (and so the process) for its
/// whole timeout. The interrupted send fails as transient; the message is handed back and retried.
class Interruptible
{
public:
    virtual ~Interruptible() = default;

    /// Ends the connection of a send in progress, if any; the next send opens a new one.
    virtual void interrupt() = 0;
};

} // namespace identity::reauth
