"""Runs a dora dataflow next to ROS 2 nodes.

    ros2 launch dataflow.launch.py dataflow:=/path/to/dataflow.yml

`dora run` lasts as long as the dataflow: when launch stops, it sends SIGINT and dora stops
the nodes within their grace period.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description():
    dataflow = LaunchConfiguration("dataflow")
    grace = LaunchConfiguration("grace_duration")
    return LaunchDescription(
        [
            DeclareLaunchArgument("dataflow", description="Path to the dora dataflow (YAML)"),
            DeclareLaunchArgument(
                "grace_duration", default_value="5s", description="Time nodes get to stop"
            ),
            DeclareLaunchArgument(
                "with_turtlesim", default_value="true", description="Also start turtlesim"
            ),
            ExecuteProcess(
                cmd=["dora", "run", dataflow, "--grace-duration", grace],
                name="dora_dataflow",
                output="screen",
                sigterm_timeout="20",
            ),
            Node(
                package="turtlesim",
                executable="turtlesim_node",
                name="sim",
                condition=IfCondition(LaunchConfiguration("with_turtlesim")),
            ),
        ]
    )
