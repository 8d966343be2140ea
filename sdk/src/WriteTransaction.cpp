#include "identity/sdk/Storage.h"

namespace identity::sdk
{

WriteTransaction::WriteTransaction(Storage& storage, Poco::Data::Session& session)
    : _lock(storage.writeLock()), _session(session)
{
    if (storage.dialect() == Storage::Dialect::SQLite)
        _session << "BEGIN IMMEDIATE", Poco::Data::Keywords::now;
    else
        _session << "BEGIN", Poco::Data::Keywords::now;
}

WriteTransaction::~WriteTransaction()
{
    if (!_open)
        return;
    try
    {
        // Roll back before the session returns to its pool, or it keeps holding the write lock.
        _session << "ROLLBACK", Poco::Data::Keywords::now;
    }
    catch (...)
    {
        // The connection is broken; the pool will discard it.
    }
}

void WriteTransaction::commit()
{
    _session << "COMMIT", Poco::Data::Keywords::now;
    _open = false;
    if (_lock.owns_lock())
        _lock.unlock(); // the next writer may go on while this one finishes its work
}

} // namespace identity::sdk
