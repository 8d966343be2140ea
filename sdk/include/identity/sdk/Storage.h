#pragma once

#include "identity/sdk/Export.h"

#include <Poco/Data/Session.h>

#include <mutex>

namespace identity::sdk
{

/// The database the host opened (SQLite or PostgreSQL). SQL shared by both uses `$1..$n` placeholders
/// and epoch-second integers for time.
class IDENTITY_SDK_API Storage
{
public:
    enum class Dialect
    {
        SQLite,
        PostgreSQL
    };

    virtual ~Storage();

    /// A pooled session for this thread's current task; it returns to the pool when destroyed. Sessions
    /// are not thread-safe: never share one between threads.
    virtual Poco::Data::Session session() = 0;

    virtual Dialect dialect() const = 0;

    /// Held by a WriteTransaction for its whole life. SQLite has one writer at a time anyway: waiting
    /// for it on a mutex wakes at once, where SQLite's busy handler sleeps in steps of up to 100 ms.
    /// Databases with concurrent writers return an unlocked lock.
    virtual std::unique_lock<std::mutex> writeLock() = 0;
};

/// A read-write transaction that is rolled back unless committed.
///
/// On SQLite it starts with `BEGIN IMMEDIATE`, taking the write lock up front: a deferred transaction
/// that reads and then writes fails with "database is locked" under concurrency. Always use it for a
/// transaction that writes, and never open a second one on the same thread while one is open.
class IDENTITY_SDK_API WriteTransaction
{
public:
    WriteTransaction(Storage& storage, Poco::Data::Session& session);
    ~WriteTransaction();

    WriteTransaction(const WriteTransaction&) = delete;
    WriteTransaction& operator=(const WriteTransaction&) = delete;

    void commit();

private:
    std::unique_lock<std::mutex> _lock;
    Poco::Data::Session& _session;
    bool _open = true;
};

} // namespace identity::sdk
