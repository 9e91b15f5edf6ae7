#pragma once
// ChangeFeed: tells a controller replica that another process sharing its store has written
// (DESIGN section 5, many API servers on one store). PostgreSQL commits announce their new
// revision with NOTIFY cenv_revision (postgres_commit.cc); a feed LISTENs on a connection of its
// own and calls back, and the replica's WatchHub then reads the new events from the event table
// by revision, in order and without gaps. After its connection was lost the feed calls back
// once it is connected again (notifications sent meanwhile are lost, the events are not).
// open_change_feed() (open_store.h) makes one for a store URL.

namespace cenv {

class ChangeFeed {
 public:
  virtual ~ChangeFeed() = default;  // stops calling back before it returns
};

}  // namespace cenv
