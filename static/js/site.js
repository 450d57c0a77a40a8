/* perfguide site script (in progress) */
