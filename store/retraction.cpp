#include "store/retraction.h"

namespace fieldsync::store {

// The lead replaces this: a placeholder so that store/archive.cpp's hook links and
// Archive::write() can call it before the retraction policy exists.
void settleRetractions(WriteTxn& /*txn*/) {}

}  // namespace fieldsync::store
