"""Routing as pure functions: round robin, least loaded, capacity; queue waits."""
from datetime import datetime, timedelta, timezone

from helpdesk.chat.models import Routing
from helpdesk.chat.policies import AgentLoad, choose_agent, describe_wait, expected_wait_seconds, plan_assignments

T0 = datetime(2025, 6, 2, 10, 0, tzinfo=timezone.utc)


def test_least_loaded_takes_the_agent_with_most_room_relative_to_capacity():
    agents = [AgentLoad(1, 2, 3), AgentLoad(2, 1, 3), AgentLoad(3, 2, 4)]
    assert choose_agent(agents, Routing.LEAST_LOADED) == 2


def test_round_robin_takes_who_waited_longest_and_never_served_first():
    agents = [AgentLoad(1, 0, 3, T0), AgentLoad(2, 2, 3, T0 - timedelta(minutes=5)), AgentLoad(3, 0, 3, None)]
    assert choose_agent(agents, Routing.ROUND_ROBIN) == 3
    assert choose_agent(agents[:2], Routing.ROUND_ROBIN) == 2


def test_full_agents_and_excluded_agents_get_nothing():
    agents = [AgentLoad(1, 3, 3), AgentLoad(2, 1, 1)]
    assert choose_agent(agents, Routing.LEAST_LOADED) is None
    assert choose_agent([AgentLoad(1, 0, 2)], Routing.LEAST_LOADED, exclude={1}) is None


def test_plan_spreads_chats_round_robin_and_stops_at_capacity():
    agents = [AgentLoad(1, 0, 2), AgentLoad(2, 0, 1)]
    plan = plan_assignments([(10, Routing.ROUND_ROBIN), (11, Routing.ROUND_ROBIN), (12, Routing.ROUND_ROBIN),
                             (13, Routing.ROUND_ROBIN)], agents, T0)
    assert plan == [(10, 1), (11, 2), (12, 1)]


def test_plan_least_loaded_fills_the_emptier_agent_first():
    agents = [AgentLoad(1, 2, 4), AgentLoad(2, 0, 4)]
    plan = plan_assignments([(1, Routing.LEAST_LOADED), (2, Routing.LEAST_LOADED), (3, Routing.LEAST_LOADED)], agents, T0)
    assert [u for _, u in plan] == [2, 2, 1]


def test_expected_wait_grows_with_position_and_shrinks_with_agents():
    assert expected_wait_seconds(1, 0, []) is None
    assert expected_wait_seconds(2, 1, [60, 60, 60]) == 120
    assert expected_wait_seconds(2, 2, [60, 60, 60]) == 60
    assert describe_wait(30) == "less than a minute"
    assert describe_wait(180) == "about 3 minutes"
